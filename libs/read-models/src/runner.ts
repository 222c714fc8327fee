import type Redis from 'ioredis';
import { FEED_NOTICED_HEADER, TOPIC_ROLES, type TopicNames, type TopicRole } from '@lastmeter/contracts';
import {
  createProducer,
  FOLLOW_MAX_WAIT_MS,
  topicOffsets,
  withTimeout,
  type Admin,
  type Consumer,
  type Kafka,
  type Producer,
} from '@lastmeter/kafka';
import { announcementChannel, encodeFeedNotice, feedChannel } from '@lastmeter/redis';
import {
  contextOf,
  headerValue,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  traceCarrierOf,
  traceHeaders,
  tracer,
  type Span,
  type TraceCarrier,
} from '@lastmeter/kafka';
import { deadLetterOf, sendDeadLetters } from './dlq';
import { raisePosition } from './scripts';
import { Projection, type BatchResult, type PositionRaise, type SourceMessage } from './projection';
import type { RedisKeys } from './redis-keys';

/** The topics a projector reads: the source of truth, store activity, and the feed. */
export const PROJECTED: readonly TopicRole[] = ['events', 'storeEvents', 'feed'];

/**
 * How often the group's offsets are committed. They only say where a restarted or newly
 * assigned consumer starts reading: the Redis position is what `admit` trusts, and a
 * batch projected again changes nothing. So they are committed on a timer, not after
 * every batch as kafkajs's autoCommit does (one OffsetCommit per batch, which the next
 * fetch waited behind on the same connection).
 */
const COMMIT_EVERY_MS = 1_000;

/** Trace contexts a notice may carry: a chunk is one or a few feed transactions. */
const MAX_TRACES_PER_NOTICE = 8;

/** The distinct trace contexts of a chunk's feed records (none while tracing is off). */
function feedTraces(chunk: SourceMessage[]): TraceCarrier[] {
  const seen = new Map<string, TraceCarrier>();
  for (const message of chunk) {
    if (message.topic !== 'feed' || seen.size >= MAX_TRACES_PER_NOTICE) continue;
    const carrier = traceCarrierOf(message.headers);
    if (carrier) seen.set(carrier.traceparent!, carrier);
  }
  return [...seen.values()];
}

/**
 * Whether a fetched batch may wait (`lingerMs`) before it is projected: a few records
 * (fewer than LINGER_BELOW) of the feed or the events, each from a transaction whose
 * feed entries the command service's notice on commit carried to the gateways, every
 * one of them (FEED_NOTICED_HEADER), so no terminal waits for it. Everything else is
 * projected at once: receipts (the reach board), events of other transactions, feed
 * entries only a projector's notice announces (a national publish's, and its events),
 * and a backlog.
 */
export function mayLinger(role: TopicRole, messages: ReadonlyArray<{ headers?: SourceMessage['headers'] }>): boolean {
  return (
    (role === 'feed' || role === 'events') &&
    messages.length < LINGER_BELOW &&
    messages.every(
      (message) => message.headers !== undefined && headerValue(message.headers, FEED_NOTICED_HEADER) === 'true',
    )
  );
}

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
  /**
   * The consumer crashed and kafkajs will not start it again (an error it does not count
   * as retriable): this runner projects nothing more, its owner starts a new one.
   */
  onStopped?: (error: Error) => void;
  log?: { warn(message: string): void; error(message: string): void; debug?(message: string): void };
  /**
   * How long a batch that `mayLinger` waits before it is projected (the batches of one
   * fetch wait together); 0 or absent: at once. See `linger`.
   */
  lingerMs?: number;
}

/** Batches of at least this many records (a backlog) are projected without lingering (`mayLinger`). */
export const LINGER_BELOW = 100;

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
  /**
   * By `role/partition`: the position this runner last read from Redis or raised it to.
   * Its next raise requires Redis to hold at least that (`lmPosition`).
   */
  private readonly inRedis = new Map<string, number>();
  /** By `role/partition`: the Redis position this runner last sought back to (see `admit`). */
  private readonly soughtTo = new Map<string, number>();
  /** The partitions this runner was assigned at the last rebalance. */
  private assigned: Array<{ role: TopicRole; partition: number }> = [];
  /** By `role/partition`: a position write for a batch of transaction markers, still under way. */
  private readonly markerWrites = new Map<string, Promise<unknown>>();
  /** By `role/partition`: the next offset to read after what was projected (what to commit). */
  private readonly projected = new Map<string, number>();
  /** By `role/partition`: the offset last committed for the group. */
  private readonly committed = new Map<string, number>();
  private commitTimer?: NodeJS.Timeout;
  /** The wait that small batches share (`linger`), while it runs. */
  private lingering?: Promise<void>;

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
      maxWaitTimeInMs: FOLLOW_MAX_WAIT_MS,
      maxBytesPerPartition: 4 * 1024 * 1024,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const role = this.roleOf.get(payload.topic);
      if (!role) return;
      const id = `${role}/${payload.partition}`;
      const next = Number(payload.lastOffset) + 1;
      this.positions.set(id, next);
      // A batch of transaction markers only (eachBatch never sees it): the Redis position
      // moves past it if nothing before it is missing, so a caught-up partition reads as such.
      if (payload.batchSize === 0 && payload.firstOffset !== null) {
        this.projected.set(id, next);
        const keys = this.positionKeys(role, payload.partition);
        const write = raisePosition(this.options.redis, keys, next, payload.firstOffset).catch(() => undefined);
        this.markerWrites.set(id, write);
      }
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.assigned = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => {
        const role = this.roleOf.get(topic);
        return role ? partitions.map((partition) => ({ role, partition })) : [];
      });
      const mine = new Set(this.assigned.map(({ role, partition }) => `${role}/${partition}`));
      for (const id of this.projected.keys()) if (!mine.has(id)) this.projected.delete(id);
      this.committed.clear();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.options.onStopped?.(payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: PROJECTED.map((role) => topics[role]), fromBeginning: true });
    this.commitTimer = setInterval(() => void this.commit(), COMMIT_EVERY_MS);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 6,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const role = this.roleOf.get(batch.topic)!;
        if (this.options.lingerMs && mayLinger(role, batch.messages)) await this.linger();
        const started = process.hrtime.bigint();
        // A batch after what Redis holds is not applied (sought back instead). One before it
        // is applied again: idempotent, and how an operator's rewind re-projects.
        if (!(await this.admit(role, batch.partition, Number(batch.firstOffset())))) return;
        const messages: SourceMessage[] = batch.messages.map((m) => ({
          topic: role,
          partition: batch.partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          headers: m.headers,
        }));
        const id = `${role}/${batch.partition}`;
        const keys = this.positionKeys(role, batch.partition);
        // Chunks bound the pipeline size and let a rebalance interrupt a long catch-up.
        for (let at = 0; at < messages.length; at += 2_000) {
          if (!isRunning() || isStale()) break;
          const chunk = messages.slice(at, at + 2_000);
          const last = at + 2_000 >= messages.length;
          // The position goes with the chunk's last write; the last chunk's covers the
          // batch's trailing transaction markers too.
          const next = last ? Number(batch.lastOffset()) + 1 : Number(chunk.at(-1)!.offset) + 1;
          const from = this.inRedis.get(id) ?? 0;
          const result = await this.applyChunk(chunk, { keys, to: next, from });
          if (result.position === 'refused') {
            await this.rewind(role, batch.partition, Number(chunk[0]!.offset));
            return;
          }
          this.inRedis.set(id, Math.max(from, next));
          this.soughtTo.delete(id);
          resolveOffset(last ? batch.lastOffset() : chunk.at(-1)!.offset);
          this.projected.set(id, next);
          await heartbeat();
          this.options.onBatch?.({
            topic: role,
            partition: batch.partition,
            result,
            seconds: Number(process.hrtime.bigint() - started) / 1e9,
          });
        }
      },
    });
  }

  /**
   * Waits `lingerMs`, the same wait for every batch that asks while it runs (the batches
   * of one fetch). Kafka's `linger.ms`, on the consumer's side: a commit wakes the
   * command service's notice (terminals get the items from it), the gateways' fan-out and
   * this projector at the same moment; on a box they share, projecting at once feed
   * entries the terminals already have takes cores the fan-out needs. What is committed
   * meanwhile waits for the next fetch, which brings it all at once (fewer Redis round
   * trips and notices). Only such batches wait (`mayLinger`), by at most this much.
   */
  private linger(): Promise<void> {
    return (this.lingering ??= new Promise<void>((resolve) =>
      setTimeout(() => {
        this.lingering = undefined;
        resolve();
      }, this.options.lingerMs),
    ));
  }

  /**
   * Commits, for the partitions this runner holds, the offsets after what it projected,
   * where they moved. Refused while the group rebalances: the next owner then re-projects
   * at most the last COMMIT_EVERY_MS, which changes nothing.
   */
  private async commit(): Promise<void> {
    const { consumer } = this;
    if (!consumer) return;
    const { topics } = this.options;
    const due = this.assigned.flatMap(({ role, partition }) => {
      const id = `${role}/${partition}`;
      const offset = this.projected.get(id);
      return offset !== undefined && offset !== this.committed.get(id) ? [{ id, role, partition, offset }] : [];
    });
    if (due.length === 0) return;
    try {
      await consumer.commitOffsets(
        due.map(({ role, partition, offset }) => ({ topic: topics[role], partition, offset: String(offset) })),
      );
      for (const { id, offset } of due) this.committed.set(id, offset);
    } catch (error) {
      this.options.log?.debug?.(`projector offsets not committed yet: ${(error as Error).message}`);
    }
  }

  /**
   * Whether a batch may be applied: not if it starts after its partition's Redis position
   * (Redis lost writes the group's offsets are already past); the consumer then seeks
   * back to the position, once. After that seek, a batch that still starts later is taken:
   * what lies between is transaction markers or aborted records.
   */
  private async admit(role: TopicRole, partition: number, firstOffset: number): Promise<boolean> {
    const id = `${role}/${partition}`;
    await this.markerWrites.get(id);
    this.markerWrites.delete(id);
    const { redis, keys, topics } = this.options;
    const stored = Number((await redis.get(keys.position(role, partition))) ?? 0);
    this.inRedis.set(id, stored);
    if (firstOffset <= stored || this.soughtTo.get(id) === stored) return true;
    this.soughtTo.set(id, stored);
    // One offset is most likely a transaction's commit marker read in a later fetch
    // (eachBatch never sees those): seeking back to it is cheap and not news.
    const log = this.options.log;
    (firstOffset - stored > 1 ? log?.warn : log?.debug)?.call(
      log,
      `read models of ${topics[role]}[${partition}] (${keys.generation}) end at offset ${stored}, the consumer group is at ${firstOffset}: re-projecting from ${stored}`,
    );
    this.consumer!.seek({ topic: topics[role], partition, offset: String(stored) });
    return false;
  }

  private positionKeys(role: TopicRole, partition: number): { position: string; fence: string } {
    const { keys } = this.options;
    return { position: keys.position(role, partition), fence: keys.fence(role, partition) };
  }

  /**
   * After a position raise was refused (Redis lost writes it would cover: a failover
   * between this runner's pipelines): seeks back to the position Redis holds, or to the
   * chunk if that is earlier, so what was lost is projected again before anything after it.
   */
  private async rewind(role: TopicRole, partition: number, chunkStart: number): Promise<void> {
    const id = `${role}/${partition}`;
    const { redis, keys, topics } = this.options;
    const stored = Number((await redis.get(keys.position(role, partition))) ?? 0);
    const to = Math.min(stored, chunkStart);
    this.inRedis.set(id, stored);
    this.positions.set(id, to);
    this.options.log?.warn(
      `read models of ${topics[role]}[${partition}] (${keys.generation}) lost writes under the projector (the position is ${stored}): re-projecting from ${to}`,
    );
    this.consumer!.seek({ topic: topics[role], partition, offset: String(to) });
  }

  private async applyChunk(chunk: SourceMessage[], position: PositionRaise): Promise<BatchResult> {
    // Traced feed batches (tracing on): a span each, which the gateways' emits continue.
    const spans = feedTraces(chunk).map((carrier) =>
      tracer.startSpan('project feed', { kind: SpanKind.CONSUMER }, contextOf(carrier)),
    );
    try {
      return await this.applyTracedChunk(chunk, position, spans);
    } finally {
      for (const span of spans) span.end();
    }
  }

  private async applyTracedChunk(chunk: SourceMessage[], position: PositionRaise, spans: Span[]): Promise<BatchResult> {
    const { redis, topics, keys } = this.options;
    const traces = spans.flatMap((span) => traceHeaders(trace.setSpan(ROOT_CONTEXT, span)).traceparent ?? []);
    const result = await this.projection.apply(chunk, {
      position,
      // One notice for the whole chunk, as soon as its feed is in Redis: a national
      // publish wakes gateways a few times, not once per store, and not after the reach.
      onFeed: async (appended) => {
        if (this.options.notify()) await redis.publish(feedChannel(keys.prefix), encodeFeedNotice(appended, traces));
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

  /**
   * Seeks every assigned partition whose Redis position is behind the consumer back to
   * it: a Redis that lost data while no new event arrives (an idle partition is never
   * `admit`ted) is re-projected all the same. The projector calls it while its
   * generation is not whole.
   */
  async realign(): Promise<void> {
    const { redis, keys, topics } = this.options;
    if (!this.consumer || !this.admin || this.assigned.length === 0) return;
    await Promise.all(this.markerWrites.values());
    const committed = await this.admin.fetchOffsets({
      groupId: this.groupId,
      topics: [...new Set(this.assigned.map(({ role }) => topics[role]))],
    });
    const stored = await redis.mget(this.assigned.map(({ role, partition }) => keys.position(role, partition)));
    this.assigned.forEach(({ role, partition }, index) => {
      const id = `${role}/${partition}`;
      const commit = Number(
        committed.find((c) => c.topic === topics[role])?.partitions.find((p) => p.partition === partition)?.offset ??
          -1,
      );
      const at = Math.max(this.positions.get(id) ?? 0, commit);
      const position = Number(stored[index] ?? 0);
      if (position >= at || this.soughtTo.get(id) === position) return;
      this.soughtTo.set(id, position);
      this.positions.set(id, position);
      const log = this.options.log;
      // One offset: most likely a commit marker whose position write is still on its way.
      (at - position > 1 ? log?.warn : log?.debug)?.call(
        log,
        `read models of ${topics[role]}[${partition}] (${keys.generation}) end at offset ${position}, the consumer is at ${at}: re-projecting from ${position}`,
      );
      this.consumer!.seek({ topic: topics[role], partition, offset: String(position) });
    });
  }

  /** `role/partition` → end offset of every projected partition now (the targets of a recovery). */
  async endOffsets(): Promise<Record<string, number>> {
    const ends: Record<string, number> = {};
    for (const role of PROJECTED) {
      for (const { partition, offset } of await topicOffsets(this.admin!, this.options.topics[role])) {
        ends[`${role}/${partition}`] = Number(offset);
      }
    }
    return ends;
  }

  /** Per partition of every projected topic: end offset (LSO), position, and the difference. */
  async lag(): Promise<PartitionLag[]> {
    const admin = this.admin;
    if (!admin) return [];
    const { topics } = this.options;
    const committed = await admin.fetchOffsets({ groupId: this.groupId, topics: PROJECTED.map((r) => topics[r]) });
    const lags: PartitionLag[] = [];
    for (const role of PROJECTED) {
      const ends = await topicOffsets(admin, topics[role]);
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
    clearInterval(this.commitTimer);
    // What was projected since the last commit, so the next owner starts after it (bounded:
    // a broker that is down costs the next owner a little re-projection, not a hung stop).
    await withTimeout(this.commit(), 2_000, 'commit').catch(() => undefined);
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    this.consumer = undefined;
  }
}
