import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { PersonKeyRecord, TopicNames } from '@lastmeter/contracts';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import {
  FOLLOW_MAX_WAIT_MS,
  KAFKA,
  TOPIC_NAMES,
  TopicsBootstrap,
  topicOffsets,
  type Consumer,
  type Kafka,
} from '@lastmeter/kafka';
import { PersonKeyMirror, RedisKeys } from '@lastmeter/read-models';
import { REDIS } from '@lastmeter/redis';

const CHECK_MS = 1_000;

/**
 * Keeps Redis's copy of lastmeter.person-keys.v1 (PersonKeyMirror; docs/privacy.md).
 *
 * It reads the compacted topic from the start each time the projector starts, and the
 * start is applied as one final state: every key's last record up to the topic's end.
 * Applying the records one by one would put an erased person's old key back for a moment
 * (compaction leaves the active segment alone, so the key record is still before its
 * tombstone). After that, batches are applied in order as they come. A Redis that lost
 * the mirror (no `mirrored` marker) is filled again from the start the same way.
 */
@Injectable()
export class PersonKeyFollower implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PersonKeyFollower.name);
  private readonly mirror: PersonKeyMirror;
  private consumer?: Consumer;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private restarting?: Promise<void>;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(REDIS) redis: Redis,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(APP_CONFIG) config: SharedConfig,
    private readonly topicsBootstrap: TopicsBootstrap,
  ) {
    this.mirror = new PersonKeyMirror(redis, new RedisKeys(config.REDIS_KEY_PREFIX));
  }

  onApplicationBootstrap(): void {
    void this.restart();
    this.timer = setInterval(() => void this.check(), CHECK_MS);
  }

  private async check(): Promise<void> {
    if (this.stopped || this.restarting || !this.consumer) return;
    try {
      if (!(await this.mirror.kept())) {
        this.logger.warn('the person-key mirror is gone from Redis: reading lastmeter.person-keys.v1 again');
        await this.restart();
      }
    } catch (error) {
      this.logger.debug(`person-key mirror check: ${(error as Error).message}`);
    }
  }

  private restart(): Promise<void> {
    this.restarting ??= this.follow()
      .catch((error: unknown) => {
        if (!this.stopped) this.logger.error(`person keys: ${(error as Error).message}; retrying`);
        return new Promise<void>((resolve) => setTimeout(resolve, CHECK_MS)).then(() => {
          this.restarting = undefined;
          if (!this.stopped) return this.restart();
        });
      })
      .finally(() => (this.restarting = undefined));
    return this.restarting;
  }

  private async follow(): Promise<void> {
    await this.topicsBootstrap.ready();
    await this.consumer?.disconnect().catch(() => undefined);
    if (this.stopped) return;
    const topic = this.topics.personKeys;
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    try {
      // The partitions to read to their end (read_committed: the last stable offset) before
      // the first apply; an empty one has nothing to wait for.
      ends = new Map(
        (await topicOffsets(admin, topic))
          .filter(({ offset, low }) => offset !== low)
          .map(({ partition, offset }) => [partition, BigInt(offset)]),
      );
    } finally {
      await admin.disconnect();
    }
    // Nothing is committed: each start reads the (compacted, small) topic from the start.
    // A fresh broker answers "the coordinator is loading" for a while: this consumer joins
    // at start-up, so it retries longer than the client's default before kafkajs would
    // count it as a crash. kafkajs never restarts it: it would read the topic again from
    // the start batch by batch (no commits), putting an erased person's earlier key back
    // until its tombstone comes, or, after a non-retriable error, not at all. A crash
    // starts over here instead, the whole topic applied as one final state.
    const consumer = this.kafka.consumer({
      groupId: `${topic}.mirror.${randomUUID()}`,
      maxWaitTimeInMs: FOLLOW_MAX_WAIT_MS,
      retry: { initialRetryTime: 200, retries: 30, maxRetryTime: 5_000, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (this.stopped || this.consumer !== consumer) return;
      this.logger.warn(`person keys: the consumer stopped (${payload.error.message}); reading the topic again`);
      void this.restart();
    });
    const initial = new Map<string, string | null>();
    let loading = true;
    const loaded = (): void => {
      if (!loading || ends.size > 0) return;
      loading = false;
      // Sent before any later batch's apply (one connection, in order).
      void this.mirror.apply(initial).then(
        () => this.logger.log(`person keys mirrored (${[...initial.values()].filter(Boolean).length} persons)`),
        (error: unknown) => {
          this.logger.error(`person keys: ${(error as Error).message}; reading the topic again`);
          void this.restart();
        },
      );
    };
    // Also after a batch of transaction markers only, which eachBatch never sees.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const end = ends.get(payload.partition);
      if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) ends.delete(payload.partition);
      loaded();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const records = loading ? initial : new Map<string, string | null>();
        for (const message of batch.messages) {
          if (!message.key) continue;
          const id = message.key.toString();
          const value = message.value ? (JSON.parse(message.value.toString()) as PersonKeyRecord).key : null;
          // In order: a later record of the same person replaces an earlier one.
          records.delete(id);
          records.set(id, value);
        }
        if (!loading && records.size > 0) await this.mirror.apply(records);
      },
    });
    loaded();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
