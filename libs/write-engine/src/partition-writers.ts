/** Partition writers: one fenced PartitionWriter per commands partition this instance owns. */
import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import type { TopicNames } from '@lastmeter/contracts';
import type { SharedConfig } from '@lastmeter/config';
import { ConnectionWatch, createKafkaClient, createProducer, TOPIC_NAMES } from '@lastmeter/kafka';
import { EventTail } from './event-tail';
import { feedTransactionalIdOf, PartitionWriter, transactionalIdOf } from './partition-writer';
import type { EventHistory, GroupMember, PartitionWriterPool, TransactionalProducerFactory } from './ports';
import { TRANSACTIONAL_PRODUCERS } from './write-engine.tokens';
import { WriteMetrics } from './write-metrics';

/** A writer's transaction refused as fenced (see PartitionWriters.onFenced). */
export interface Fence {
  partition: number;
  /** The assignment (PartitionWriters.assignment) its writer was opened for. */
  assignment: number;
  error: unknown;
  /**
   * Not fenced: the writer's transaction failed and its producer is in doubt
   * (PartitionWriter.inDoubt). It takes no more transactions, and only a new assignment
   * opens a new one.
   */
  inDoubt?: boolean;
}

/** Asked for the writer of a partition the current assignment does not hold (PartitionWriters.open). */
export class PartitionNotAssigned extends Error {
  constructor(readonly partition: number) {
    super(`partition ${partition} is not assigned to this instance`);
    this.name = 'PartitionNotAssigned';
  }
}

/** A partition's two fenced writers: its decisions (events, offsets) and its feed. */
interface OwnedPartition {
  decisions: PartitionWriter;
  feed: PartitionWriter;
}

/**
 * The transactional writers of the partitions this instance owns in the decider group.
 * Owning commands partition p makes this instance the only writer of events partition p
 * and of feed partition p (same count, same partitioner), until the next rebalance.
 * Each owned partition has two producers: the decisions' and the feed's. Both are
 * opened (fencing the previous owner's) before the partition's history is read, so
 * nothing a previous owner wrote can land after the catch-up.
 */
@Injectable()
export class PartitionWriters implements PartitionWriterPool, OnApplicationShutdown {
  private readonly logger = new Logger(PartitionWriters.name);
  readonly groupId: string;
  private readonly writers = new Map<number, Promise<OwnedPartition>>();
  /** The writers of `writers` that are open and caught up (openedWriter). */
  private readonly opened = new Map<number, OwnedPartition>();
  /** Closing the previous generation's writers; new ones wait for it (one producer per id). */
  private dropping: Promise<void> = Promise.resolve();
  private readonly openedListeners: Array<(partition: number) => void> = [];
  /** The decider group member these partitions were assigned to. */
  private joined?: GroupMember;
  /** The fencing of every writer opened since the last assignment (see open). */
  private fences: Array<Promise<void>> = [];
  /** Counts the assignments (reassign): a writer opened for an older one is being dropped. */
  private assigned = 0;
  /**
   * The partitions of the current assignment: the only ones a writer is opened for. A
   * caller still holding an older assignment's partition (a batch fetched before a
   * rebalance, a scheduler tick that began before it) must not open one: its
   * new epoch would fence the partition's owner, and its feed entries would be numbered
   * beside that owner's decisions, which carry entries for it under another
   * transactional id and the same generation.
   */
  private partitions: ReadonlySet<number> = new Set();
  private readonly fencedListeners: Array<(fence: Fence) => void> = [];

  constructor(
    @Inject(TRANSACTIONAL_PRODUCERS) private readonly producers: TransactionalProducerFactory,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(EventTail) private readonly history: EventHistory,
    @Optional() @Inject(WriteMetrics) private readonly metrics: WriteMetrics = WriteMetrics.none(),
  ) {
    this.groupId = `${topics.commands}.decider`;
  }

  /**
   * After a rebalance: drop every writer, then open (fence + catch up) the ones assigned
   * to `member` (the generation and member id the group gave this instance).
   */
  reassign(partitions: number[], member?: GroupMember): void {
    this.assigned++;
    this.joined = member;
    this.partitions = new Set(partitions);
    this.fences = [];
    this.dropping = this.dropAll();
    for (const partition of partitions) {
      this.writerFor(partition).catch((error: unknown) =>
        this.logger.warn(`partition ${partition} not ready: ${(error as Error).message}`),
      );
    }
  }

  /**
   * The partition's writer of decisions, opened (fencing older owners) and caught up.
   * Rejects with PartitionNotAssigned when the current assignment does not hold it.
   */
  async writerFor(partition: number): Promise<PartitionWriter> {
    return (await this.open(partition)).decisions;
  }

  /** The partition's writer of decisions if owned, open and caught up; never opens one. */
  openedWriter(partition: number): PartitionWriter | undefined {
    return this.opened.get(partition)?.decisions;
  }

  /** The partition's feed writer, opened with the decisions' writer (PartitionNotAssigned as writerFor). */
  async feedWriterFor(partition: number): Promise<PartitionWriter> {
    return (await this.open(partition)).feed;
  }

  private open(partition: number): Promise<OwnedPartition> {
    let owned = this.writers.get(partition);
    if (!owned) {
      if (!this.partitions.has(partition)) return Promise.reject(new PartitionNotAssigned(partition));
      const fences = this.fences;
      let fenced!: () => void;
      fences.push(new Promise<void>((resolve) => (fenced = resolve)));
      owned = (async () => {
        const assignment = this.assigned;
        await this.dropping;
        const writer = (transactionalId: string) =>
          new PartitionWriter(
            () => this.producers(transactionalId),
            this.topics,
            this.groupId,
            partition,
            this.metrics,
            (error, inDoubt) => {
              for (const listener of this.fencedListeners) listener({ partition, assignment, error, inDoubt });
            },
          );
        const created = {
          decisions: writer(transactionalIdOf(this.groupId, this.topics, partition)),
          feed: writer(feedTransactionalIdOf(this.groupId, this.topics, partition)),
        };
        try {
          try {
            await Promise.all([created.decisions.open(), created.feed.open()]);
          } finally {
            fenced();
          }
          // Every writer of this assignment has fenced its predecessor before any partition
          // is read: a decision still running on this instance's previous writers (a rejoin
          // may keep the generation, so its offsets would be accepted) can no longer commit
          // feed entries into a partition read here.
          await Promise.all(fences);
          // The feed partition to its high watermark: a decision of the previous owner's
          // (another partition's transactional id, which these writers do not fence) may
          // still be open on it; its end is waited for, so what it committed is read
          // before anything is numbered here (FeedSequencer.withinDecision).
          await this.history.catchUp([partition], { toHighWatermark: ['feed'] });
        } catch (error) {
          await Promise.all([created.decisions.close(), created.feed.close()]);
          throw error;
        }
        // Unless a reassignment dropped it meanwhile.
        if (this.writers.get(partition) === owned) this.opened.set(partition, created);
        for (const listener of this.openedListeners) listener(partition);
        return created;
      })();
      owned.catch(() => this.writers.delete(partition));
      this.writers.set(partition, owned);
    }
    return owned;
  }

  /** Partitions this instance currently writes. */
  owned(): number[] {
    return [...this.writers.keys()];
  }

  reachable(): boolean {
    return this.producers.reachable?.() ?? true;
  }

  /** The decider group member that owns them (undefined before the first join). */
  member(): GroupMember | undefined {
    return this.joined;
  }

  /** The current assignment's number: reassign counts them. */
  get assignment(): number {
    return this.assigned;
  }

  /**
   * Calls `listener` each time a writer's transaction is refused as fenced: another
   * writer holds its transactional id or the partition now. After a rebalance that is
   * the new owner, and this instance's own rebalance drops the writer. Without one, the
   * transaction coordinator fenced it (it aborts a transaction open past its timeout with
   * a new epoch), and the writer stays fenced until the group assigns its partition again.
   */
  onFenced(listener: (fence: Fence) => void): void {
    this.fencedListeners.push(listener);
  }

  /** Calls `listener` each time a partition's writer is open and its history read. */
  onOpened(listener: (partition: number) => void): void {
    this.openedListeners.push(listener);
  }

  private async dropAll(): Promise<void> {
    const writers = [...this.writers.values()];
    this.writers.clear();
    this.opened.clear();
    await Promise.all(
      writers.map(async (owned) => {
        const opened = await owned.catch(() => undefined);
        await Promise.all([opened?.decisions.close(), opened?.feed.close()]);
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.assigned++;
    await this.dropAll();
  }
}

/**
 * The production TransactionalProducerFactory. The writers have their own client: a
 * transaction that starts right after the previous commit often meets
 * CONCURRENT_TRANSACTIONS for a few milliseconds; kafkajs's default 200 ms first retry
 * would put that on every command's latency.
 */
export function kafkaTransactionalProducers(
  config: Pick<SharedConfig, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>,
): TransactionalProducerFactory {
  const connections = new ConnectionWatch();
  const kafka = createKafkaClient({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-decider`,
    retry: { initialRetryTime: 10, maxRetryTime: 1_000, retries: 15, factor: 0.5, multiplier: 1.5 },
    socketFactory: connections.socketFactory,
  });
  const factory: TransactionalProducerFactory = (transactionalId) => createProducer(kafka, { transactionalId });
  factory.reachable = () => connections.reachable();
  return factory;
}
