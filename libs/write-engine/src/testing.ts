/**
 * In-memory fakes of the write engine's ports and small builders, for its unit specs
 * only (not exported from the library): a command log, a reply transport, the event
 * history, transactional writers and producers, a clock.
 */
import {
  CURRENT_SCHEMA_VERSIONS,
  topicNames,
  type Actor,
  type AggregateType,
  type CommandEnvelope,
  type DomainEvent,
  type EventDataByType,
  type EventType,
} from '@lastmeter/contracts';
import type {
  AppendBatch,
  CatchUpOptions,
  Clock,
  CommandLog,
  EventHistory,
  GroupMember,
  PartitionWriterPool,
  ProducerTransaction,
  ReplyTransport,
  TopicMessages,
  TransactionalProducer,
  TransactionalWriter,
} from './ports';
import { PartitionNotAssigned } from './partition-writers';

export const TOPICS = topicNames('test.');
export const NOW = new Date('2026-11-23T09:00:00.000Z');
export const ADMIN: Actor = { id: 'admin-1', role: 'hq-admin' };
export const EDITOR: Actor = { id: 'editor-1', role: 'hq-editor' };

/** A clock that says what it is told. */
export class FakeClock implements Clock {
  constructor(public current: Date = NOW) {}
  now(): Date {
    return this.current;
  }
  /** Moves the clock by `ms` milliseconds. */
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/**
 * Records appended commands; `failure` makes appends reject (Kafka down), `failFrom`
 * makes the appends from that call on reject (Kafka lost in the middle of a batch),
 * `onAppend` plays the decider (e.g. sends the reply).
 */
export class FakeCommandLog implements CommandLog {
  readonly appended: Array<{ key: string; command: CommandEnvelope }> = [];
  /** Sizes of the appends, one entry per produce (append = 1). */
  readonly sends: number[] = [];
  failure?: Error;
  failFrom?: { call: number; error: Error };
  onAppend?: (command: CommandEnvelope) => void;
  closed = false;

  async append(key: string, command: CommandEnvelope): Promise<void> {
    await this.appendMany([{ key, command }]);
  }

  async appendMany(commands: Array<{ key: string; command: CommandEnvelope }>): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.failFrom && this.sends.length + 1 >= this.failFrom.call) throw this.failFrom.error;
    this.sends.push(commands.length);
    for (const entry of commands) {
      this.appended.push(entry);
      this.onAppend?.(entry.command);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Pub/sub in one process: a publish reaches the channel's subscribers synchronously. */
export class FakeReplyTransport implements ReplyTransport {
  readonly published: Array<{ channel: string; message: string }> = [];
  private readonly subscribers = new Map<string, Array<(message: string) => void>>();
  closed = false;

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    this.subscribers.set(channel, [...(this.subscribers.get(channel) ?? []), onMessage]);
  }

  async publish(channel: string, message: string): Promise<void> {
    this.published.push({ channel, message });
    for (const deliver of this.subscribers.get(channel) ?? []) deliver(message);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** The event history: records catch-ups; `onCatchUp` plays what the tail would read meanwhile. */
export class FakeHistory implements EventHistory {
  readonly catchUps: Array<number[] | undefined> = [];
  /** The options of each catch-up (catchUps' indexes). */
  readonly options: Array<CatchUpOptions | undefined> = [];
  started = 0;
  onCatchUp?: (partitions?: number[]) => void;

  /** The catch-ups that waited for the feed's high watermark (catchUps' indexes). */
  get toHighWatermark(): number[] {
    return this.options.flatMap((options, i) => (options?.toHighWatermark?.includes('feed') ? [i] : []));
  }

  async start(): Promise<void> {
    this.started++;
  }

  async catchUp(partitions?: number[], options?: CatchUpOptions): Promise<void> {
    this.options.push(options);
    this.catchUps.push(partitions);
    this.onCatchUp?.(partitions);
  }
}

/** A partition writer that keeps its transactions in memory; `failure` fails the next append. */
export class FakeWriter implements TransactionalWriter {
  readonly appended: AppendBatch[] = [];
  failure?: Error;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly partition: number) {}

  serialize<T>(work: () => Promise<T>): Promise<T> {
    this.queued++;
    const next = this.queue.then(work, work).finally(() => this.queued--);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private queued = 0;

  get busy(): boolean {
    return this.queued > 0;
  }

  /** The next append waits for this (a transaction in flight). */
  gate?: Promise<unknown>;
  /** The next append commits, but its answer is lost: it is recorded, then this is thrown. */
  lostAnswer?: Error;

  async append(batch: AppendBatch): Promise<void> {
    const gate = this.gate;
    this.gate = undefined;
    await gate;
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
    this.appended.push(batch);
    const lost = this.lostAnswer;
    this.lostAnswer = undefined;
    if (lost) throw lost;
    batch.committed?.();
  }

  /**
   * The partition's feed writer: appends here (same `appended`, same `failure`) but queues
   * apart, like the production pool's second producer.
   */
  get feedLane(): TransactionalWriter {
    this.lane ??= (() => {
      let queue: Promise<unknown> = Promise.resolve();
      let queued = 0;
      return {
        partition: this.partition,
        serialize: <T>(work: () => Promise<T>): Promise<T> => {
          queued++;
          const next = queue.then(work, work).finally(() => queued--);
          queue = next.catch(() => undefined);
          return next;
        },
        get busy() {
          return queued > 0;
        },
        append: (batch: AppendBatch) => this.append(batch),
      };
    })();
    return this.lane;
  }

  private lane?: TransactionalWriter;

  /** Every event appended so far, in order. */
  events() {
    return this.appended.flatMap((batch) => batch.events ?? []);
  }

  /** Every feed entry appended so far through this writer (any feed partition), in order. */
  feed() {
    return this.appended.flatMap((batch) => (batch.feed ?? []).flatMap((chunk) => chunk.entries));
  }
}

/** The writers of the partitions given to `own`. */
export class FakeWriterPool implements PartitionWriterPool {
  readonly writers = new Map<number, FakeWriter>();
  private readonly listeners: Array<(partition: number) => void> = [];

  /** Makes this instance the owner of `partition` and announces it, as an opened writer would. */
  own(partition: number): FakeWriter {
    const writer = new FakeWriter(partition);
    this.writers.set(partition, writer);
    for (const listener of this.listeners) listener(partition);
    return writer;
  }

  async writerFor(partition: number): Promise<FakeWriter> {
    const writer = this.writers.get(partition);
    // As PartitionWriters: only an assigned partition gets a writer.
    if (!writer) throw new PartitionNotAssigned(partition);
    return writer;
  }

  openedWriter(partition: number): FakeWriter | undefined {
    return this.writers.get(partition);
  }

  /** writerFor's feed lane: specs read decisions and feed entries from one place. */
  async feedWriterFor(partition: number): Promise<TransactionalWriter> {
    return (await this.writerFor(partition)).feedLane;
  }

  owned(): number[] {
    return [...this.writers.keys()];
  }

  /** Whether the brokers are there, as the writers' connections say (a spec sets it false: a broker gone). */
  brokersReachable = true;

  reachable(): boolean {
    return this.brokersReachable;
  }

  /** The group member the partitions were assigned to (none: decisions carry no feed). */
  joined?: GroupMember;

  member(): GroupMember | undefined {
    return this.joined;
  }

  onOpened(listener: (partition: number) => void): void {
    this.listeners.push(listener);
  }
}

/** One transaction as a FakeProducer saw it. */
export interface RecordedTransaction {
  batches: TopicMessages[][];
  offsets: Array<Parameters<ProducerTransaction['sendOffsets']>[0]>;
  /** The groups whose offsets partition `addOffsets` added. */
  offsetsAdded?: string[];
  state: 'open' | 'committed' | 'aborted';
}

/** A transactional producer that records its transactions; `failures` are thrown by the next commits. */
export class FakeProducer implements TransactionalProducer {
  readonly transactions: RecordedTransaction[] = [];
  /** Every transactional call, in order ('addOffsets', 'sendBatch', 'sendOffsets', 'commit', 'abort'). */
  readonly calls: string[] = [];
  readonly failures: unknown[] = [];
  /** Thrown by the next `addOffsets` calls. */
  readonly addOffsetsFailures: unknown[] = [];
  /** While set, each sendBatch waits for it before it resolves (its records in flight). */
  batchInFlight?: Promise<void>;
  connected = false;
  disconnected = false;

  constructor(readonly transactionalId: string) {}

  async connect(): Promise<void> {
    this.connected = true;
  }

  async transaction(): Promise<ProducerTransaction> {
    const recorded: RecordedTransaction = { batches: [], offsets: [], state: 'open' };
    this.transactions.push(recorded);
    return {
      sendBatch: async ({ topicMessages }) => {
        this.calls.push('sendBatch');
        await this.batchInFlight;
        recorded.batches.push(topicMessages);
      },
      addOffsets: async (groupId) => {
        this.calls.push('addOffsets');
        const failure = this.addOffsetsFailures.shift();
        if (failure) throw failure;
        (recorded.offsetsAdded ??= []).push(groupId);
      },
      sendOffsets: async (offsets) => {
        this.calls.push('sendOffsets');
        recorded.offsets.push(offsets);
      },
      commit: async () => {
        this.calls.push('commit');
        const failure = this.failures.shift();
        if (failure) throw failure;
        recorded.state = 'committed';
      },
      abort: async () => {
        this.calls.push('abort');
        recorded.state = 'aborted';
      },
    };
  }

  async disconnect(): Promise<void> {
    this.disconnected = true;
  }
}

let eventIds = 0;

/** A complete event envelope for an aggregate at `version`. */
export function eventOf<T extends EventType>(
  type: T,
  data: EventDataByType[T],
  options: { aggregateId: string; version: number; commandId?: string; commandHash?: string; actor?: Actor },
): DomainEvent<T> {
  const commandId = options.commandId ?? `command-${type}-${options.aggregateId}-${options.version}`;
  return {
    id: `event-${++eventIds}`,
    type,
    schemaVersion: CURRENT_SCHEMA_VERSIONS[type],
    aggregateType: type.slice(0, type.indexOf('.')) as AggregateType,
    aggregateId: options.aggregateId,
    aggregateVersion: options.version,
    occurredAt: NOW.toISOString(),
    actor: options.actor ?? ADMIN,
    commandId,
    correlationId: commandId,
    causationId: commandId,
    ...(options.commandHash ? { commandHash: options.commandHash } : {}),
    data,
  } as DomainEvent<T>;
}

/** A command envelope as the command bus would produce it. */
export function commandOf(
  type: string,
  aggregateId: string,
  payload: unknown,
  options: Partial<Omit<CommandEnvelope, 'type' | 'aggregateId' | 'payload'>> = {},
): CommandEnvelope {
  const commandId = options.commandId ?? `command-${++eventIds}`;
  return {
    commandId,
    requestId: `request-${commandId}`,
    replyTo: 'replies:test',
    type,
    aggregateType: type.slice(0, type.indexOf('.')) as AggregateType,
    aggregateId,
    actor: ADMIN,
    payload,
    commandHash: `hash-${commandId}`,
    issuedAt: NOW.toISOString(),
    correlationId: commandId,
    ...options,
  };
}

/** A consumed message of the commands topic holding `command`. */
export function messageOf(offset: number, command: CommandEnvelope): { offset: string; value: Buffer } {
  return { offset: String(offset), value: Buffer.from(JSON.stringify(command)) };
}
