import type Redis from 'ioredis';
import { TOPIC_ROLES, type TopicNames, type TopicRole } from '@lastmeter/contracts';
import { createProducer, type Admin, type Consumer, type Kafka, type Producer } from '@lastmeter/kafka';
import { announcementChannel, encodeFeedNotice, feedChannel } from '@lastmeter/redis';
import { deadLetterOf, sendDeadLetters } from './dlq';
import { Projection, type BatchResult, type SourceMessage } from './projection';
import type { RedisKeys } from './redis-keys';

/** The topics a projector reads: the source of truth, store activity, and the feed. */
export const PROJECTED: readonly TopicRole[] = ['events', 'storeEvents', 'feed'];

/** The consumer group that builds one generation (a rebuild gets a fresh one). */
export function projectorGroupId(topics: TopicNames, generation: string): string {
  return `${topics.events}.projector.${generation}`;
}

export interface BatchStats {
  topic: TopicRole;
  partition: number;
  result: BatchResult;
  seconds: number;
}

export interface RunnerOptions {
  kafka: Kafka;
  redis: Redis;
  topics: TopicNames;
  keys: RedisKeys;
  /** Announce new feed items to gateways (off while a rebuild fills a generation nobody reads yet). */
  notify: () => boolean;
  onBatch?: (stats: BatchStats) => void;
  log?: { warn(message: string): void; error(message: string): void };
}

export interface PartitionLag {
  topic: TopicRole;
  partition: number;
  end: number;
  position: number;
  lag: number;
}

/**
 * Runs a Projection as a consumer group over the projected topics (read_committed,
 * partitions in parallel, each in order). At-least-once: a batch's offsets are committed
 * only after its writes (and its dead letters) are stored, and the writes are idempotent,
 * so a crash anywhere redoes a little work and changes nothing.
 */
export class ProjectionRunner {
  readonly groupId: string;
  readonly projection: Projection;
  private consumer?: Consumer;
  private producer?: Producer;
  private admin?: Admin;
  /** Next offset to read, by `role/partition`, including transaction markers. */
  private readonly positions = new Map<string, number>();
  private readonly roleOf: Map<string, TopicRole>;

  constructor(private readonly options: RunnerOptions) {
    this.groupId = projectorGroupId(options.topics, options.keys.generation);
    this.projection = new Projection(options.redis, options.keys);
    this.roleOf = new Map(TOPIC_ROLES.map((role) => [options.topics[role], role]));
  }

  async start(): Promise<void> {
    const { kafka, topics } = this.options;
    this.producer = createProducer(kafka);
    this.admin = kafka.admin();
    await Promise.all([this.producer.connect(), this.admin.connect()]);
    const consumer = kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 50,
      maxBytesPerPartition: 4 * 1024 * 1024,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const role = this.roleOf.get(payload.topic);
      if (role) this.positions.set(`${role}/${payload.partition}`, Number(payload.lastOffset) + 1);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: PROJECTED.map((role) => topics[role]), fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 1_000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 6,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
        const role = this.roleOf.get(batch.topic)!;
        const started = process.hrtime.bigint();
        const messages: SourceMessage[] = batch.messages.map((m) => ({
          topic: role,
          partition: batch.partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
        }));
        // Chunks bound the pipeline size and let a rebalance interrupt a long catch-up.
        for (let from = 0; from < messages.length; from += 2_000) {
          if (!isRunning() || isStale()) break;
          const chunk = messages.slice(from, from + 2_000);
          const result = await this.applyChunk(chunk);
          resolveOffset(chunk.at(-1)!.offset);
          await heartbeat();
          this.options.onBatch?.({
            topic: role,
            partition: batch.partition,
            result,
            seconds: Number(process.hrtime.bigint() - started) / 1e9,
          });
        }
        await commitOffsetsIfNecessary();
      },
    });
  }

  private async applyChunk(chunk: SourceMessage[]): Promise<BatchResult> {
    const { redis, topics, keys } = this.options;
    const result = await this.projection.apply(chunk, {
      // One notice for the whole chunk, as soon as its feed is in Redis: a national
      // publish wakes gateways a few times, not once per store, and not after the reach.
      onFeed: async (appended) => {
        if (this.options.notify()) await redis.publish(feedChannel(keys.prefix), encodeFeedNotice(appended));
      },
    });
    if (result.failed.length > 0) {
      for (const failure of result.failed) {
        this.options.log?.warn(
          `dead letter ${topics[failure.message.topic]}[${failure.message.partition}]@${failure.message.offset}: ${failure.error}`,
        );
      }
      await sendDeadLetters(
        this.producer!,
        topics,
        result.failed.map((failure) => ({
          key: failure.message.key,
          record: deadLetterOf(failure, topics, this.groupId),
        })),
      );
    }
    for (const gap of result.gaps) {
      this.options.log?.error(`feed of store ${gap.storeId} skipped to ${gap.feedSeq}: a gap upstream`);
    }
    if (result.announcements.length > 0 && this.options.notify()) {
      const pipeline = redis.pipeline();
      // One per distinct announcement per batch: a thousand receipts are one "reach changed".
      for (const announcement of new Set(result.announcements.map((a) => JSON.stringify(a)))) {
        pipeline.publish(announcementChannel(keys.prefix), announcement);
      }
      await pipeline.exec();
    }
    return result;
  }

  /** Per partition of every projected topic: end offset (LSO), position, and the difference. */
  async lag(): Promise<PartitionLag[]> {
    const admin = this.admin;
    if (!admin) return [];
    const { topics } = this.options;
    const committed = await admin.fetchOffsets({ groupId: this.groupId, topics: PROJECTED.map((r) => topics[r]) });
    const lags: PartitionLag[] = [];
    for (const role of PROJECTED) {
      const ends = await admin.fetchTopicOffsets(topics[role]);
      const commits = committed.find((c) => c.topic === topics[role])?.partitions ?? [];
      for (const { partition, offset } of ends) {
        const end = Number(offset);
        const commit = Number(commits.find((c) => c.partition === partition)?.offset ?? -1);
        const position = Math.max(this.positions.get(`${role}/${partition}`) ?? 0, commit);
        lags.push({ topic: role, partition, end, position, lag: Math.max(0, end - position) });
      }
    }
    return lags;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    this.consumer = undefined;
  }
}
