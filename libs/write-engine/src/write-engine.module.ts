/** The write engine as a Nest module: its units, and the Kafka and Redis adapters of their ports. */
import { Module } from '@nestjs/common';
import type Redis from 'ioredis';
import type { TopicNames } from '@lastmeter/contracts';
import { APP_CONFIG, type AppConfig, type SharedConfig } from '@lastmeter/config';
import { TOPIC_NAMES } from '@lastmeter/kafka';
import { MetricsRegistry } from '@lastmeter/platform';
import { REDIS } from '@lastmeter/redis';
import { AggregateStore } from './aggregate-store';
import { CommandBus } from './command-bus';
import { KafkaCommandLog } from './command-log';
import { CredentialStore } from './credential-store';
import { DeciderService } from './decider.service';
import { EventTail } from './event-tail';
import { FeedLedger } from './feed-ledger';
import { RedisFeedNotifier } from './feed-notifier';
import { FeedSequencer } from './feed-sequencer';
import { PartitionDecider } from './partition-decider';
import { kafkaTransactionalProducers, PartitionWriters } from './partition-writers';
import { clockFor } from './clock';
import { RedisReplyTransport, ReplyChannel } from './reply-channel';
import { Scheduler } from './scheduler';
import { RedisSnapshotStore } from './snapshot-store';
import {
  AGGREGATE_STORE,
  CLOCK,
  COMMAND_LOG,
  REPLY_TRANSPORT,
  TRANSACTIONAL_PRODUCERS,
  FEED_IN_DECISION,
  FEED_NOTIFIER,
  IN_REQUEST_DECIDER,
} from './write-engine.tokens';
import { WriteMetrics } from './write-metrics';

/**
 * Everything the command service needs to accept, decide and append commands. Needs the
 * global APP_CONFIG, KAFKA, TOPIC_NAMES, TopicsBootstrap and REDIS (PlatformModule).
 * Exports the CommandBus for controllers, and the in-memory view (aggregate store,
 * credentials, the tail to wait for) for the app's own reads.
 */
@Module({
  providers: [
    {
      provide: AGGREGATE_STORE,
      inject: [APP_CONFIG, TOPIC_NAMES, REDIS],
      useFactory: (config: SharedConfig & Partial<AppConfig<'command'>>, topics: TopicNames, redis: Redis) =>
        new AggregateStore({
          snapshots: new RedisSnapshotStore(redis, config.REDIS_KEY_PREFIX, topics.events),
          cacheSize: config.COMMAND_CACHE_AGGREGATES,
          idempotencyWindowMs: (config.IDEMPOTENCY_WINDOW_HOURS ?? 24) * 3_600_000,
        }),
    },
    { provide: CredentialStore, useFactory: () => new CredentialStore() },
    {
      provide: WriteMetrics,
      inject: [{ token: MetricsRegistry, optional: true }],
      useFactory: (registry?: MetricsRegistry) => new WriteMetrics(registry),
    },
    {
      provide: CLOCK,
      inject: [APP_CONFIG],
      useFactory: (config: SharedConfig & Partial<AppConfig<'command'>>) => clockFor(config.LASTMETER_CLOCK_FILE),
    },
    {
      provide: FEED_IN_DECISION,
      inject: [APP_CONFIG],
      useFactory: (config: Partial<AppConfig<'command'>>) => config.COMMAND_FEED_IN_DECISION ?? true,
    },
    {
      provide: IN_REQUEST_DECIDER,
      inject: [APP_CONFIG, PartitionDecider],
      useFactory: (config: Partial<AppConfig<'command'>>, decider: PartitionDecider) =>
        (config.COMMAND_DECIDE_IN_REQUEST ?? false) ? decider : undefined,
    },
    {
      provide: FEED_NOTIFIER,
      inject: [APP_CONFIG, REDIS],
      useFactory: (config: SharedConfig & Partial<AppConfig<'command'>>, redis: Redis) =>
        (config.COMMAND_FEED_NOTICE ?? true) ? new RedisFeedNotifier(redis, config.REDIS_KEY_PREFIX) : undefined,
    },
    {
      provide: COMMAND_LOG,
      inject: [APP_CONFIG, TOPIC_NAMES],
      useFactory: (config: SharedConfig, topics: TopicNames) => new KafkaCommandLog(config, topics),
    },
    { provide: REPLY_TRANSPORT, inject: [REDIS], useFactory: (redis: Redis) => new RedisReplyTransport(redis) },
    { provide: TRANSACTIONAL_PRODUCERS, inject: [APP_CONFIG], useFactory: kafkaTransactionalProducers },
    EventTail,
    ReplyChannel,
    CommandBus,
    FeedLedger,
    PartitionWriters,
    FeedSequencer,
    PartitionDecider,
    DeciderService,
    Scheduler,
  ],
  exports: [AGGREGATE_STORE, CredentialStore, EventTail, CommandBus, CLOCK, FeedLedger],
})
export class WriteEngineModule {}
