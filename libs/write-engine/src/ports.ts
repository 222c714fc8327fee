/**
 * The write engine's ports: what its units need from Kafka, Redis and the clock, as
 * small interfaces. The production adapters are EventTail, PartitionWriter(s),
 * ReplyChannel with RedisReplyTransport, KafkaCommandLog and kafkaTransactionalProducers,
 * wired in write-engine.module.ts; unit specs pass the in-memory fakes of testing.ts.
 */
import type { CommandEnvelope, CommandOutcome, CredentialChange, EventEnvelope } from '@lastmeter/contracts';
import type { Decision } from './partition-decider';

/** lastmeter.commands.v1 as the command bus sees it. */
export interface CommandLog {
  /** Appends one command keyed by its aggregate id; rejects when the log is unreachable. */
  append(key: string, command: CommandEnvelope): Promise<void>;
  /**
   * Appends several commands in one produce (each keyed by its aggregate id). Rejects when
   * the log is unreachable; then some of them may have been written (decided once each).
   */
  appendMany(
    commands: Array<{ key: string; command: CommandEnvelope; headers?: Record<string, string> }>,
  ): Promise<void>;
  close(): Promise<void>;
}

/**
 * Decides a command in its HTTP request when this instance owns its partition
 * (PartitionDecider.decideInRequest); false: the command bus appends it to the log.
 */
export interface InRequestDecider {
  decideInRequest(command: CommandEnvelope, options?: InRequestOptions): Promise<boolean>;
}

export interface InRequestOptions {
  /** The request's trace context (`traceparent`), which the decision continues. */
  trace?: Record<string, string>;
  /**
   * The command bus made the commandId for this request (no Idempotency-Key): no earlier
   * decision can know it, so its command record is not looked up in the snapshot store.
   */
  minted?: boolean;
  /** How long it may wait for the partition's writer before it goes through the log (ms). */
  waitMs?: number;
}

/** Publish/subscribe that replies travel on (Redis pub/sub in production). */
export interface ReplyTransport {
  /** Calls `onMessage` with every message published to `channel` once this resolves. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  close(): Promise<void>;
}

/** A reply the command bus waits for. */
export interface PendingReply {
  /** The outcome, or undefined when none came in time. */
  outcome: Promise<CommandOutcome | undefined>;
  /** Stops waiting (the command was never appended). */
  cancel(): void;
}

/** The command bus's side of the reply channel. */
export interface ReplyWaiter {
  /** Where replies for this instance go (the envelope's replyTo). */
  readonly channel: string;
  /** Registers interest before the command is produced, so no reply can be missed. */
  expect(requestId: string, timeoutMs: number): PendingReply;
}

/** The decider's side of the reply channel. */
export interface ReplySender {
  send(channel: string, requestId: string, outcome: CommandOutcome): Promise<void>;
}

/** The topics the event tail follows, by their role. */
export type FollowedTopic = 'events' | 'feed' | 'credentials';

/** How far a catch-up reads (EventHistory.catchUp). */
export interface CatchUpOptions {
  /**
   * These topics are read, beyond their last stable offset, to their high watermark as it
   * is now: every transaction open on them now has ended and what it committed is read.
   * A commit returns to its producer before the broker has written its markers, so the
   * last stable offset can still be short of a transaction another instance has already
   * committed and answered for; the high watermark is not.
   */
  toHighWatermark?: readonly FollowedTopic[];
  /**
   * Stops waiting for the high watermarks after this long (the last stable offsets are
   * always reached): a transaction left open by a crashed instance holds a high
   * watermark until the coordinator aborts it. Unbounded when omitted.
   */
  highWatermarkWaitMs?: number;
}

/**
 * What the HTTP layer's reads need (a login, an enrollment, a reference to a store): every
 * write any instance has acknowledged so far, even one whose transaction markers are not
 * written yet. Bounded, so that a transaction left open by a crashed instance delays such
 * a read by at most 5 s, after which it answers with what is committed (its transaction
 * timeout is 30 s).
 */
export const ACKNOWLEDGED_WRITES: CatchUpOptions = {
  toHighWatermark: ['events', 'credentials'],
  highWatermarkWaitMs: 5_000,
};

/** The log as this instance has read it into memory (EventTail). */
export interface EventHistory {
  /** Starts reading (once); resolves when the reader runs. */
  start(): Promise<void>;
  /**
   * Resolves once the partitions (all when omitted) of the followed topics are read up to
   * their last stable offset, and those of `options.toHighWatermark` up to their high
   * watermark as it is now (a new owner's feed partition, docs/write-side.md; a directory
   * read, ACKNOWLEDGED_WRITES).
   */
  catchUp(partitions?: number[], options?: CatchUpOptions): Promise<void>;
}

/**
 * A member of the decider group as it joined: the transactional offsets of a decision
 * that carries feed entries name it (KIP-447), so the group coordinator refuses them, and
 * the transaction is aborted, once a rebalance has moved on from that generation.
 */
export interface GroupMember {
  generationId: number;
  memberId: string;
}

/** Feed entries for one feed partition, appended as one record. */
export interface FeedChunk {
  partition: number;
  entries: EventEnvelope[];
  /**
   * The notice on commit carries every entry of the chunk and of the other chunks of its
   * transaction (FeedNotifier): its record says so in a header (FEED_NOTICED_HEADER), and
   * projectors need not hurry over it.
   */
  noticed?: boolean;
}

/**
 * Tells gateways of feed entries the moment their transaction committed (FEED_NOTIFIER),
 * before any projector has them: gateways hand them to the terminals (feed-notifier.ts).
 */
export interface FeedNotifier {
  /**
   * Before the transaction: the notice for `chunks`, and which of them (by index) it
   * carries whole. `send` once the transaction committed; it returns at once, and a
   * notice lost costs latency only. `traces`: W3C traceparents the gateways' emits
   * continue (tracing on).
   */
  prepare(chunks: FeedChunk[], traces?: string[]): { carried: boolean[]; send(): void };
}

/** What one transaction of a partition writer appends. */
export interface AppendBatch {
  events?: EventEnvelope[];
  /**
   * Next offset of the commands partition to commit with the events: past the consumed
   * commands decided here, or (commands decided in their request, with feed entries) the
   * partition's decided position, as the fence.
   */
  commandOffset?: string;
  /** Feed entries: a record per chunk, in the chunk's feed partition. */
  feed?: FeedChunk[];
  /** Secrets for lastmeter.credentials.v1 (never the event log). */
  credentials?: CredentialChange[];
  /** The trace context the feed records carry (`traceparent`), when tracing is on. */
  feedTrace?: Record<string, string>;
  /** The decider group member the command offset is committed as (with `commandOffset`). */
  member?: GroupMember;
  /**
   * Called once the transaction committed, before `append` resolves: the feed notice on
   * commit goes out from here, ahead of the bookkeeping that follows the append.
   */
  committed?: () => void;
}

/** The single, fenced writer of one partition (PartitionWriter). */
export interface TransactionalWriter {
  readonly partition: number;
  /** Runs `work` after everything queued before it: one transaction at a time per writer. */
  serialize<T>(work: () => Promise<T>): Promise<T>;
  /** Whether work runs or waits in its queue now. */
  readonly busy: boolean;
  /** Appends the batch atomically (one Kafka transaction). */
  append(batch: AppendBatch): Promise<void>;
}

/** The writers of the partitions this instance owns (PartitionWriters). */
export interface PartitionWriterPool {
  /**
   * The partition's writer of decisions, opened (fencing older owners) and caught up.
   * Rejects for a partition the current assignment does not hold: only the group's
   * assignment opens a writer (PartitionNotAssigned).
   */
  writerFor(partition: number): Promise<TransactionalWriter>;
  /**
   * The partition's writer of decisions if this instance owns the partition and that
   * writer is open and caught up already; otherwise undefined (never opens one).
   */
  openedWriter(partition: number): TransactionalWriter | undefined;
  /**
   * The partition's feed writer (the feed sequencer's), its own fenced producer, opened
   * with the decisions' writer: feed transactions queue only behind each other.
   */
  feedWriterFor(partition: number): Promise<TransactionalWriter>;
  /** Partitions this instance currently writes. */
  owned(): number[];
  /**
   * False while the writers' connections to the brokers have all ended (the broker went
   * away): a transaction begun now would wait out its retries before failing.
   */
  reachable(): boolean;
  /** The decider group member that owns them, once the group is joined. */
  member(): GroupMember | undefined;
  /** Calls `listener` each time a partition's writer is open and its history read. */
  onOpened(listener: (partition: number) => void): void;
}

/** The part of a kafkajs transactional producer a partition writer uses. */
export interface TransactionalProducer {
  connect(): Promise<void>;
  transaction(): Promise<ProducerTransaction>;
  disconnect(): Promise<void>;
}

export interface ProducerTransaction {
  sendBatch(batch: { topicMessages: TopicMessages[] }): Promise<unknown>;
  /** With `generationId` and `memberId`, a TxnOffsetCommit v3 (KIP-447, our kafkajs patch). */
  sendOffsets(offsets: {
    consumerGroupId: string;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>;
    generationId?: number;
    memberId?: string;
  }): Promise<void>;
  /**
   * Adds the group's offsets partition to the transaction now (AddOffsetsToTxn, our
   * kafkajs patch), so that it can go while the records are sent; sendOffsets then only
   * commits the offsets.
   */
  addOffsets(consumerGroupId: string): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TopicMessages {
  topic: string;
  messages: Array<{ key: string; value: string | null; partition?: number; headers?: Record<string, string> }>;
}

/**
 * Makes the producer of one transactional id (group + topic + partition). `reachable`,
 * when the factory knows: false while every connection its producers had to the brokers
 * has ended (ConnectionWatch), so a transaction started now would wait out its retries.
 */
export type TransactionalProducerFactory = ((transactionalId: string) => TransactionalProducer) & {
  reachable?(): boolean;
};

/** For the scheduler: decides a system command inside its partition's queue (PartitionDecider). */
export interface SystemDecider {
  decideAsSystem(partition: number, command: CommandEnvelope): Promise<Decision>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
