/** Event tail: the Kafka reader that keeps the engine's in-memory view in line with the log. */
import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  isAggregateType,
  parseRecord,
  upcast,
  type AggregateType,
  type CredentialRecord,
  type DomainEvent,
  type TopicNames,
} from '@lastmeter/contracts';
import {
  FOLLOW_MAX_WAIT_MS,
  highWatermarkAdmin,
  KAFKA,
  rememberTrace,
  TOPIC_NAMES,
  TopicsBootstrap,
  traceCarrierOf,
  topicOffsets,
  type Admin,
  type Batch,
  type Consumer,
  type Kafka,
} from '@lastmeter/kafka';
import type { AggregateStore } from './aggregate-store';
import { CredentialStore } from './credential-store';
import { FeedLedger } from './feed-ledger';
import type { CatchUpOptions, EventHistory } from './ports';
import { AGGREGATE_STORE } from './write-engine.tokens';
import { WriteMetrics } from './write-metrics';

/** How often what the tail folded is written to the snapshot store (with its checkpoints). */
const SNAPSHOT_INTERVAL_MS = 1_000;

/**
 * The fetches of the readers of the log (the tail, a snapshot rebuild). Smaller than
 * kafkajs's 10 MiB: a start-up reading hundreds of thousands of records keeps less of
 * them decoded at once (the process's peak memory).
 */
const FETCH = { maxWaitTimeInMs: FOLLOW_MAX_WAIT_MS, maxBytes: 2 * 1024 * 1024, maxBytesPerPartition: 512 * 1024 };

/**
 * Reads the events topic (read_committed) into the AggregateStore, the feed topic into
 * the FeedLedger and the credentials topic into the CredentialStore, and keeps following
 * them. It tracks its position per partition including transaction markers, so "caught
 * up to the last stable offset" is a precise, awaitable condition: a new partition owner
 * waits for it before deciding or sequencing anything.
 *
 * With snapshots on (docs/write-side.md, "Bounded memory"), it starts from them: the
 * store restores what they hold and each events partition is read from its checkpoint,
 * not from offset 0; every second it writes what changed back, with its positions as
 * the new checkpoints.
 */
@Injectable()
export class EventTail implements EventHistory, OnApplicationShutdown {
  private readonly logger = new Logger(EventTail.name);
  /** Next offset to read, by `topic/partition`. */
  private readonly positions = new Map<string, number>();
  private waiters: Array<() => void> = [];
  private snapshotTimer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private consumer?: Consumer;
  private admin?: Admin;
  /** Answers high watermarks (catchUp's toHighWatermark), connected on first use. */
  private highWatermarks?: Promise<Admin>;
  private started?: Promise<void>;
  /** Consumers that stopped or failed to start since the last batch read (the pause before the next). */
  private failedFollows = 0;
  private stopping = false;
  /** Whether a start has run before (one that failed: start() then tries again). */
  private ranBefore = false;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(AGGREGATE_STORE) private readonly store: AggregateStore,
    private readonly ledger: FeedLedger,
    private readonly credentials: CredentialStore,
    private readonly topicsBootstrap: TopicsBootstrap,
    @Optional() @Inject(WriteMetrics) private readonly metrics: WriteMetrics = WriteMetrics.none(),
  ) {}

  /**
   * Restores the snapshots and starts following the log; resolves once the consumer
   * runs. A start that failed (Kafka or Redis unreachable a moment) is tried again by the
   * next call, with nothing left behind.
   */
  start(): Promise<void> {
    this.started ??= this.run().catch(async (error: unknown) => {
      // follow() disconnects a consumer that failed to start; the admin is this attempt's.
      this.started = undefined;
      await this.admin?.disconnect().catch(() => undefined);
      throw error;
    });
    return this.started;
  }

  private async run(): Promise<void> {
    await this.topicsBootstrap.ready();
    this.admin = this.kafka.admin();
    await this.admin.connect();
    if (this.ranBefore) {
      // A start tried again: what the failed one restored goes, and is read again.
      this.store.reset();
      this.positions.clear();
    } else {
      this.store.onSnapshotsLost(() => this.rebuildSnapshots());
    }
    this.ranBefore = true;
    // The checkpoints become the events partitions' positions: following starts there.
    await this.restore(this.admin);
    await this.follow();
    this.snapshotTimer = setInterval(() => void this.snapshot(), SNAPSHOT_INTERVAL_MS);
  }

  /**
   * Follows the topics with a new consumer from the positions this tail has reached (the
   * snapshots' checkpoints at start-up; offset 0 for a partition it has not read).
   *
   * kafkajs restarts a consumer it gave up on (a batch that kept failing, a broker gone
   * past its retries) only after a retriable error, and then from the group's committed
   * offsets: this group commits none, so it would read every topic again from the start.
   * So it never restarts this one itself: on a crash the tail follows on with a new
   * consumer from its positions, after a pause (1 s, doubling up to 30 s while the new
   * one fails too).
   */
  private async follow(): Promise<void> {
    // A group of its own per consumer: every instance needs every partition. kafkajs
    // has no manual assignment; the group is never committed to and expires on its own.
    const consumer = this.kafka.consumer({
      groupId: `${this.topics.events}.command-view.${randomUUID()}`,
      readUncommitted: false,
      sessionTimeout: 30_000,
      retry: { retries: 5, restartOnFailure: async () => false },
      ...FETCH,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (this.consumer !== consumer) return;
      this.positions.set(`${payload.topic}/${payload.partition}`, Number(payload.lastOffset) + 1);
      this.failedFollows = 0;
      this.notify();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (this.consumer === consumer && !this.stopping) this.followAgain(payload.error);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: this.followed(), fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 4,
        eachBatch: async ({ batch }) => {
          const { topic, partition } = batch;
          if (topic === this.topics.credentials) {
            for (const message of batch.messages) {
              const id = message.key?.toString() ?? '';
              try {
                const record = message.value ? (JSON.parse(message.value.toString()) as CredentialRecord) : null;
                this.credentials.apply({ id, record });
              } catch (error) {
                this.logger.error(`skipping ${topic}[${partition}]@${message.offset}: ${(error as Error).message}`);
              }
            }
            return;
          }
          await this.applyAll(this.eventsOf(batch), partition);
        },
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
    for (const [position, offset] of this.positions) {
      const at = position.lastIndexOf('/');
      consumer.seek({
        topic: position.slice(0, at),
        partition: Number(position.slice(at + 1)),
        offset: String(offset),
      });
    }
  }

  private followAgain(error: Error): void {
    const delay = Math.min(1_000 * 2 ** this.failedFollows, 30_000);
    this.failedFollows++;
    this.metrics.eventTailRestarted();
    this.logger.warn(
      `the event tail's consumer stopped (${error.message}): following the log on from where it was in ${delay} ms`,
    );
    setTimeout(() => {
      if (this.stopping) return;
      this.follow().catch((failed: unknown) => {
        // The consumer that failed to start is gone: this.consumer still names it, so retry from here.
        if (!this.stopping) this.followAgain(failed as Error);
      });
    }, delay).unref();
  }

  /** A batch's events, upcast; a record that does not parse is logged and skipped. */
  private eventsOf(batch: Batch): DomainEvent[] {
    const events: DomainEvent[] = [];
    for (const message of batch.messages) {
      try {
        const carrier = traceCarrierOf(message.headers);
        for (const envelope of parseRecord(message.value)) {
          // Another instance's decision: the feed sequencer continues its trace.
          rememberTrace(envelope.id, carrier);
          events.push(upcast(envelope));
        }
      } catch (error) {
        // The decider only ever appends valid events; anything else is logged and skipped.
        this.logger.error(`skipping ${batch.topic}[${batch.partition}]@${message.offset}: ${(error as Error).message}`);
      }
    }
    return events;
  }

  /**
   * Folds a batch's events into `store` (this instance's, or a rebuild's), with the
   * terminals, users and command records they need loaded first.
   */
  private async applyAll(events: DomainEvent[], partition: number, store = this.store): Promise<void> {
    const keys: Array<readonly [AggregateType, string]> = [];
    for (const event of events) {
      if (event.type !== 'feed.appended' && isAggregateType(event.aggregateType)) {
        keys.push([event.aggregateType, event.aggregateId]);
      }
    }
    const release = store.pin(keys);
    try {
      if (keys.length > 0) {
        await Promise.all([store.load(keys), store.loadRecords(events.map((event) => event.commandId))]);
      }
      for (const event of events) {
        try {
          if (event.type === 'feed.appended') this.ledger.apply(event.data);
          else store.apply(event, partition);
        } catch (error) {
          this.logger.error(`skipping ${event.type} ${event.id}: ${(error as Error).message}`);
        }
      }
    } finally {
      release();
    }
  }

  /**
   * Restores the store from its snapshots; resolves with the offset to read each events
   * partition from. Checkpoints past the end of the log belong to a log that is gone
   * (the topic was recreated): they are discarded and the log is read from the start.
   */
  private async restore(admin: Admin): Promise<Map<number, number>> {
    const started = Date.now();
    let checkpoints = await this.store.restore();
    // Read after the checkpoints: another instance may move them forward meanwhile, never past the log's end.
    const ends = await this.endsOf(admin);
    if ([...checkpoints].some(([partition, offset]) => offset > (ends.get(partition) ?? 0))) {
      this.logger.warn('snapshots are ahead of the events topic (a recreated log?): discarding them, reading from 0');
      await this.store.discardSnapshots();
      this.store.reset();
      checkpoints = new Map();
    }
    for (const [partition, offset] of checkpoints) this.positions.set(`${this.topics.events}/${partition}`, offset);
    if (checkpoints.size > 0) {
      const sizes = this.store.sizes();
      this.logger.log(
        `restored ${sizes.resident} aggregates from snapshots in ${Date.now() - started} ms; reading the events topic from their checkpoints`,
      );
    }
    return checkpoints;
  }

  /**
   * Redis lost the snapshots while this instance runs (restarted empty, flushed): they are
   * written again from the events topic, from offset 0 to its end now, by a store of their
   * own (bounded like this one) and a consumer of its own; the checkpoints move only at
   * the end. Meanwhile this instance decides with what it holds in memory and its loads
   * of terminals, users and records wait (AggregateStore.fromSnapshots).
   */
  private async rebuildSnapshots(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      this.logger.warn(
        "Redis lost the write side's snapshots (restarted empty, or flushed): rebuilding them from the log",
      );
      const consumer = this.kafka.consumer({
        groupId: `${this.topics.events}.snapshot-rebuild.${randomUUID()}`,
        readUncommitted: false,
        ...FETCH,
      });
      try {
        await this.store.reopenSnapshots();
        const ends = await this.endsOf(this.admin!);
        const scratch = this.store.forRebuild();
        const reached = new Map<number, number>();
        let done!: () => void;
        let fail!: (error: Error) => void;
        const finished = new Promise<void>((resolve, reject) => ((done = resolve), (fail = reject)));
        consumer.on(consumer.events.CRASH, ({ payload }) => fail(payload.error));
        const check = () => {
          if ([...ends].every(([partition, end]) => end === 0 || (reached.get(partition) ?? 0) >= end)) done();
        };
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          reached.set(payload.partition, Number(payload.lastOffset) + 1);
          check();
        });
        await consumer.connect();
        await consumer.subscribe({ topics: [this.topics.events], fromBeginning: true });
        let flushed = Date.now();
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            await this.applyAll(this.eventsOf(batch), batch.partition, scratch);
            // Snapshots as it goes (bounded memory), the checkpoints only at the end.
            if (Date.now() - flushed > SNAPSHOT_INTERVAL_MS) {
              await scratch.flush(new Map());
              flushed = Date.now();
            }
          },
        });
        check();
        await finished;
        await scratch.flush(ends);
        this.logger.log(`snapshots rebuilt from the log in ${Date.now() - started} ms`);
        return;
      } catch (error) {
        this.logger.error(`rebuilding the snapshots failed (attempt ${attempt}): ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      } finally {
        await consumer.disconnect().catch(() => undefined);
      }
    }
  }

  /** The end of each events partition, once they have leaders (the topic may have just been created). */
  private async endsOf(admin: Admin): Promise<Map<number, number>> {
    for (let attempt = 1; ; attempt++) {
      try {
        const offsets = await topicOffsets(admin, this.topics.events);
        return new Map(offsets.map(({ partition, high }) => [partition, Number(high)]));
      } catch (error) {
        if (!(error as { retriable?: boolean }).retriable || attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** Writes what changed to the snapshot store, with the events partitions' positions as checkpoints. */
  private snapshot(): Promise<void> {
    this.flushing ??= (async () => {
      const prefix = `${this.topics.events}/`;
      const checkpoints = new Map<number, number>();
      for (const [position, offset] of this.positions) {
        if (position.startsWith(prefix)) checkpoints.set(Number(position.slice(prefix.length)), offset);
      }
      await this.store.flush(checkpoints);
    })()
      .catch((error: unknown) => this.logger.warn(`snapshots not written yet: ${(error as Error).message}`))
      .finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private async reached(targets: Map<string, number>): Promise<void> {
    const done = () =>
      [...targets].every(([position, offset]) => offset === 0 || (this.positions.get(position) ?? 0) >= offset);
    while (!done()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /**
   * Resolves once the partitions (all when omitted) of the events, feed and credentials
   * topics are read up to their last stable offset (this reader is read_committed), then
   * those of `toHighWatermark` up to their high watermark as it was when called: every
   * transaction open on them then has ended, with its commit or abort marker read. That
   * second wait gives up after `highWatermarkWaitMs`, when given (CatchUpOptions).
   */
  async catchUp(
    partitions?: number[],
    { toHighWatermark = [], highWatermarkWaitMs }: CatchUpOptions = {},
  ): Promise<void> {
    await this.start();
    // start() has connected the admin before it resolves.
    const admin = this.admin!;
    const highWatermarkTopics = toHighWatermark.map((role) => this.topics[role]);
    const targetsOf = async (source: Admin, topics: string[]) => {
      const targets = new Map<string, number>();
      const offsets = await Promise.all(topics.map((topic) => topicOffsets(source, topic)));
      topics.forEach((topic, i) => {
        for (const { partition, offset } of offsets[i]!) {
          if (!partitions || partitions.includes(partition)) targets.set(`${topic}/${partition}`, Number(offset));
        }
      });
      return targets;
    };
    const [stable, high] = await Promise.all([
      // With the default read_committed isolation these are the last stable offsets.
      targetsOf(admin, this.followed()),
      highWatermarkTopics.length > 0 ? targetsOf(await this.highWatermarkAdmin(), highWatermarkTopics) : undefined,
    ]);
    await this.reached(stable);
    if (!high) return;
    if (highWatermarkWaitMs === undefined) return this.reached(high);
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = await Promise.race([
      this.reached(high).then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), highWatermarkWaitMs))),
    ]);
    clearTimeout(timer);
    if (gaveUp) {
      this.logger.warn(
        `a transaction has been open on ${highWatermarkTopics.join(', ')} for more than ${highWatermarkWaitMs} ms; ` +
          'answering with what is committed (a crashed instance? its coordinator aborts it within 30 s)',
      );
    }
  }

  private highWatermarkAdmin(): Promise<Admin> {
    this.highWatermarks ??= (async () => {
      const admin = highWatermarkAdmin(this.kafka);
      await admin.connect();
      return admin;
    })();
    // A failed connection is tried again by the next catch-up.
    this.highWatermarks.catch(() => (this.highWatermarks = undefined));
    return this.highWatermarks;
  }

  private followed(): string[] {
    return [this.topics.events, this.topics.feed, this.topics.credentials];
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.snapshotTimer);
    await this.consumer?.disconnect().catch(() => undefined);
    if (this.started) await this.snapshot();
    await this.admin?.disconnect().catch(() => undefined);
    await (await this.highWatermarks?.catch(() => undefined))?.disconnect().catch(() => undefined);
  }
}
