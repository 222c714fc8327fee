export * from './paths';
export * from './prerequisites';
export * from './ports';
export * from './processes';
export * from './kafka-jars';
export * from './kafka-broker';
export * from './redis-server';
export * from './local-infra';
