import { Global, Logger, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { Kafka } from 'kafkajs';
import { topicNames } from '@lastmeter/contracts';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { createKafkaClient } from './kafka-client';
import { KafkaHealthIndicator } from './kafka.health';
import { KAFKA, TOPIC_NAMES } from './kafka.tokens';
import { TopicsBootstrap } from './topics.bootstrap';

const kafkaLog = new Logger('kafkajs');

@Global()
@Module({
  imports: [TerminusModule],
  providers: [
    {
      provide: KAFKA,
      inject: [APP_CONFIG],
      useFactory: (config: SharedConfig): Kafka =>
        createKafkaClient({
          brokers: config.KAFKA_BROKERS,
          clientId: config.KAFKA_CLIENT_ID,
          log: {
            error: (message, context) => kafkaLog.error({ ...context, msg: message }),
            warn: (message, context) => kafkaLog.warn({ ...context, msg: message }),
            info: (message, context) => kafkaLog.log({ ...context, msg: message }),
            debug: (message, context) => kafkaLog.debug({ ...context, msg: message }),
          },
        }),
    },
    {
      provide: TOPIC_NAMES,
      inject: [APP_CONFIG],
      useFactory: (config: SharedConfig) => topicNames(config.KAFKA_TOPIC_PREFIX),
    },
    KafkaHealthIndicator,
    TopicsBootstrap,
  ],
  exports: [KAFKA, TOPIC_NAMES, KafkaHealthIndicator, TopicsBootstrap],
})
export class KafkaModule {}
