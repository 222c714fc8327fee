export * from './kafka-client';
export * from './kafka.tokens';
export * from './kafka.module';
export * from './kafka.health';
export * from './topic-admin';
export * from './topics.bootstrap';
export * from './producers';
export type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
export * from './topic-reader';
