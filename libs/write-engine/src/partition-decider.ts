/** Per-partition decider: decides one partition's commands and appends their events in one transaction. */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  CURRENT_SCHEMA_VERSIONS,
  upcast,
  type CommandEnvelope,
  type CommandOutcome,
  type CredentialChange,
  type EventEnvelope,
  type EventType,
} from '@lastmeter/contracts';
import {
  credentialChanges,
  DECIDERS,
  DomainError,
  InvalidCommand,
  type AnyCommand,
  type CommunicationState,
  type VersionedCommunication,
} from '@lastmeter/domain';
import {
  contextOf,
  keyPartition,
  rememberTrace,
  SpanKind,
  trace,
  traceCarrierOf,
  traceHeaders,
  tracer,
  type IHeaders,
  type Span,
  type TraceCarrier,
} from '@lastmeter/kafka';
import type { AggregateStore, AggregateView } from './aggregate-store';
import { CredentialStore } from './credential-store';
import { EventTail } from './event-tail';
import { COMMUNICATION_FEED_CHANGES, FeedSequencer } from './feed-sequencer';
import { PartitionNotAssigned, PartitionWriters } from './partition-writers';
import { ACKNOWLEDGED_WRITES, type InRequestOptions } from './ports';
import type {
  Clock,
  EventHistory,
  PartitionWriterPool,
  ReplySender,
  SystemDecider,
  TransactionalWriter,
} from './ports';
import { ReplyChannel } from './reply-channel';
import { AGGREGATE_STORE, CLOCK } from './write-engine.tokens';

/** Bounds a transaction (and the work redone if it fails). */
const MAX_COMMANDS_PER_TRANSACTION = 200;
/**
 * How long a command taken in its request may wait for its partition's writer before it
 * goes through the log instead: well inside the command bus's reply timeout (10 s), so
 * the request still answers in time (202 once it is in the log).
 */
export const IN_REQUEST_WAIT_MS = 5_000;
/** How many refused requests are remembered by requestId (see decideInTransaction). */
const REMEMBERED_REFUSALS = 10_000;

export interface Decision {
  outcome: CommandOutcome;
  events: EventEnvelope[];
  /** Secrets to write to lastmeter.credentials.v1 with the events (docs/security.md). */
  credentials: CredentialChange[];
}

/** A command to decide: consumed (with its record's offset) or taken in its request (none), and its trace. */
interface DecidableCommand {
  command: CommandEnvelope;
  offset?: string;
  trace?: TraceCarrier;
  /** Its commandId was made for its request (InRequestOptions.minted): no earlier decision knows it. */
  minted?: boolean;
}

/** A command taken in its request, waiting for its partition's writer. */
interface WaitingCommand extends DecidableCommand {
  resolve(decided: boolean): void;
  timer?: NodeJS.Timeout;
}

export interface CommandMessage {
  offset: string;
  value: Buffer | null;
  /** The record's headers: `traceparent` continues the request's trace. */
  headers?: IHeaders;
}

/**
 * The single writer's decisions (docs/design.md section 4). Each partition is decided
 * sequentially by its owner, against aggregate state that is complete up to the last
 * stable offset of the same events partition, and each run of decisions is one Kafka
 * transaction (events + command offset). DeciderService feeds it the commands its
 * consumer group assigns; the scheduler submits system commands (decideAsSystem).
 */
@Injectable()
export class PartitionDecider implements SystemDecider {
  private readonly logger = new Logger(PartitionDecider.name);
  /** Refusals by requestId, oldest first, at most REMEMBERED_REFUSALS. */
  private readonly refusals = new Map<string, CommandOutcome>();
  /**
   * Each writer's decided position: every command of its partition below this offset is
   * decided, as its own commits say. Per writer: a new assignment's writer knows nothing.
   */
  private readonly positions = new WeakMap<TransactionalWriter, bigint>();
  /** Commands taken in their request, waiting for their partition's writer (decideInRequest). */
  private readonly waiting = new WeakMap<TransactionalWriter, WaitingCommand[]>();
  /**
   * Writers whose last transaction failed: it may have committed after all (its answer
   * lost), and its events are not in memory. Before the next decision, the partition's
   * events are read to their high watermark, so its commands are known by commandId and
   * their aggregates are as the log has them (a command decided in its request goes to
   * the log when its transaction fails, and the consumer would otherwise decide it again).
   * A transaction left open (the broker unreachable for both its commit and its abort)
   * holds that read until its coordinator aborts it, within its 30 s timeout.
   */
  private readonly inDoubt = new WeakSet<TransactionalWriter>();
  /**
   * Partitions of the commands topic, once the DeciderService has read them (it does only
   * with COMMAND_DECIDE_IN_REQUEST on): until then no command is decided in its request.
   */
  commandPartitions?: number;

  constructor(
    @Inject(AGGREGATE_STORE) private readonly store: AggregateStore,
    @Inject(CredentialStore) private readonly credentials: CredentialStore,
    @Inject(EventTail) private readonly history: EventHistory,
    @Inject(ReplyChannel) private readonly replies: ReplySender,
    @Inject(PartitionWriters) private readonly writers: PartitionWriterPool,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(FeedSequencer) private readonly feed: Pick<FeedSequencer, 'withinDecision'>,
  ) {}

  /**
   * Decides consumed commands of one partition in its writer's queue. Resolves with the
   * offset of the last command committed, or undefined when none was (ownership lost).
   */
  async decideBatch(
    partition: number,
    messages: CommandMessage[],
    stillOwned: () => boolean = () => true,
  ): Promise<string | undefined> {
    let writer: TransactionalWriter;
    try {
      writer = await this.writers.writerFor(partition);
    } catch (error) {
      // A batch fetched before a rebalance took the partition away: its owner decides it.
      if (error instanceof PartitionNotAssigned) return undefined;
      throw error;
    }
    return writer.serialize(() => this.decideConsumed(writer, partition, messages, stillOwned));
  }

  /**
   * Decides a command in its HTTP request, when this instance owns its partition, so the
   * request is answered without the command's produce and the decider's fetch first. The
   * command never goes to the commands topic: its events carry its commandId, correlation
   * and hash, as a consumed command's do. A decision that carries feed entries commits
   * the partition's decided position as its offset, in the name of the group member: the
   * same KIP-447 fence as a consumed batch's. Its outcome goes to the reply channel as a
   * consumed command's does. Commands that arrive while the partition's writer is busy
   * wait for it and are decided together, in one transaction (up to
   * MAX_COMMANDS_PER_TRANSACTION), as a consumed batch would be.
   *
   * Resolves false when it was not decided here: another instance's partition, a writer
   * not open yet or whose position is not known yet, the brokers gone (every connection
   * of the writers ended: PartitionWriterPool.reachable), a transaction that failed, or
   * still waiting for the writer after `waitMs`. The caller then appends it to the log, where
   * the partition's decider takes it (and knows it by its commandId if it was decided
   * after all).
   */
  async decideInRequest(
    command: CommandEnvelope,
    { trace, minted, waitMs = IN_REQUEST_WAIT_MS }: InRequestOptions = {},
  ): Promise<boolean> {
    if (this.commandPartitions === undefined) return false;
    const partition = keyPartition(command.aggregateId, this.commandPartitions);
    const writer = this.writers.openedWriter(partition);
    if (!writer || !this.positions.has(writer)) return false;
    // The broker went away (its connections ended): the transaction would wait out its
    // retries (~25 s) before failing; the log's producer fails fast (503).
    if (!this.writers.reachable()) return false;
    return new Promise<boolean>((resolve) => {
      let queue = this.waiting.get(writer);
      if (!queue) {
        this.waiting.set(writer, (queue = []));
        void writer.serialize(() => this.decideWaiting(writer, partition));
      }
      const waiting: WaitingCommand = { command, trace, minted, resolve };
      // Not taken by then: through the log instead (the request answers in time).
      waiting.timer = setTimeout(() => {
        const index = queue.indexOf(waiting);
        if (index < 0) return;
        queue.splice(index, 1);
        resolve(false);
      }, waitMs).unref();
      queue.push(waiting);
    });
  }

  /** Decides, in one transaction, the commands waiting for this writer (the rest in the next one). */
  private async decideWaiting(writer: TransactionalWriter, partition: number): Promise<void> {
    const queue = this.waiting.get(writer) ?? [];
    const taken = queue.splice(0, MAX_COMMANDS_PER_TRANSACTION);
    if (queue.length === 0) this.waiting.delete(writer);
    else void writer.serialize(() => this.decideWaiting(writer, partition));
    for (const { timer } of taken) clearTimeout(timer);
    if (taken.length === 0) return;
    const stillOwned = () => this.writers.openedWriter(partition) === writer;
    try {
      const { decided } = await this.decideInTransaction(writer, partition, taken, stillOwned);
      // Decided in order, up to where the partition was lost: the others go through the log.
      taken.forEach(({ resolve }, i) => resolve(i < decided));
    } catch (error) {
      // Not again on this writer until a consumed batch commits: a broker in trouble is
      // met by the decider's retries, not by every request's.
      this.positions.delete(writer);
      this.logger.warn(
        `${taken.length} command(s) not decided in their request (${(error as Error).message}); they go through the log`,
      );
      for (const { resolve } of taken) resolve(false);
    }
  }

  /** A consumed run, decided in one transaction. */
  private async decideConsumed(
    writer: TransactionalWriter,
    partition: number,
    messages: CommandMessage[],
    stillOwned: () => boolean,
  ): Promise<string | undefined> {
    const commands: DecidableCommand[] = messages.slice(0, MAX_COMMANDS_PER_TRANSACTION).map((message) => ({
      command: JSON.parse(message.value!.toString()) as CommandEnvelope,
      offset: message.offset,
      trace: traceCarrierOf(message.headers),
    }));
    if (commands.length === 0) return undefined;
    return (await this.decideInTransaction(writer, partition, commands, stillOwned)).last;
  }

  /**
   * Decides a run of commands of one partition against a staged view (so each sees the
   * ones before it) and appends all their events with the partition's next offset in one
   * transaction. Nothing reaches the in-memory store or a client before Kafka has it.
   *
   * A command the log holds twice (the command bus's producer is not idempotent, see
   * KafkaCommandLog) is decided once: an accepted one is known by its commandId (its
   * events carry it), a refused one by its requestId, which only the copies of one HTTP
   * request share (a client's retry is a new request and is decided again).
   */
  private async decideInTransaction(
    writer: TransactionalWriter,
    partition: number,
    commands: DecidableCommand[],
    stillOwned: () => boolean,
  ): Promise<{ decided: number; last?: string }> {
    // Terminals and users may be out of memory: bring this run's aggregates and command
    // records in first, and keep them there until the events are applied.
    if (this.inDoubt.has(writer)) {
      await this.history.catchUp([partition], { toHighWatermark: ['events'] });
      this.inDoubt.delete(writer);
    }
    const keys = commands.map(({ command }) => [command.aggregateType, command.aggregateId] as const);
    const release = this.store.pin(keys);
    try {
      // A commandId made for its request has no record anywhere: no Redis round trip for it.
      const known = commands.filter(({ minted }) => !minted).map(({ command }) => command.commandId);
      await Promise.all([this.store.load(keys), this.store.loadRecords(known)]);
      return await this.decideLoaded(writer, partition, commands, stillOwned);
    } catch (error) {
      this.inDoubt.add(writer);
      throw error;
    } finally {
      release();
    }
  }

  /** The writer committed `offset`: everything below it is decided. */
  private committed(writer: TransactionalWriter, offset: bigint): void {
    this.positions.set(writer, max(offset, this.positions.get(writer)));
  }

  private async decideLoaded(
    writer: TransactionalWriter,
    partition: number,
    commands: DecidableCommand[],
    stillOwned: () => boolean,
  ): Promise<{ decided: number; last?: string }> {
    const view = this.store.stage();
    const decided: Array<{ command: CommandEnvelope; decision: Decision }> = [];
    const refused = new Map<string, CommandOutcome>();
    // A span per traced command, from its decision to its transaction's commit; its
    // events carry it (rememberTrace: the partition writer puts it in their headers).
    const spans: Span[] = [];
    let feedTrace: Record<string, string> | undefined;
    let last: string | undefined;
    for (const { command, offset, trace: carrier } of commands) {
      if (!stillOwned()) break;
      const refusedBefore = refused.get(command.requestId) ?? this.refusals.get(command.requestId);
      const decision = refusedBefore
        ? { outcome: refusedBefore, events: [], credentials: [] }
        : await this.decideWithFreshDirectory(view, command, partition);
      if (!decision.outcome.ok) refused.set(command.requestId, decision.outcome);
      if (carrier) {
        const span = tracer.startSpan(
          `decide ${command.type}`,
          { kind: SpanKind.CONSUMER, attributes: { 'lastmeter.partition': partition } },
          contextOf(carrier),
        );
        spans.push(span);
        const own = traceHeaders(trace.setSpan(contextOf(carrier), span));
        for (const event of decision.events) rememberTrace(event.id, own);
        // The feed records continue the first traced decision (the projector links its spans to them).
        feedTrace ??= own;
      }
      for (const event of decision.events) view.apply(upcast(event), partition);
      decided.push({ command, decision });
      if (offset !== undefined) last = offset;
    }
    if (decided.length === 0) return { decided: 0 };
    // Past the consumed commands; commands taken in their request leave the position as it is.
    const position = this.positions.get(writer);
    const next = last === undefined ? position : max(BigInt(last) + 1n, position);
    const credentials = decided.flatMap(({ decision }) => decision.credentials);
    const events = decided.flatMap(({ decision }) => decision.events);
    // The publishes, revisions, retractions and expiries decided here carry their feed
    // entries in the same transaction, for the feed partitions this instance owns.
    await this.feed.withinDecision(
      this.changedCommunications(view, events, partition),
      async (feed, member, committed) => {
        // Consumed commands commit their offset; commands taken in their request commit the
        // position only as the fence of their feed entries in partitions other owners may
        // take (KIP-447, with the member). Without feed entries the writer's transactional
        // id fences them, as it does the scheduler's decisions.
        const offset = last !== undefined || feed.length > 0 ? next : undefined;
        if (offset === undefined && feed.length > 0) throw new Error(`partition ${partition}: no decided position`);
        // Commands taken in their request that were all refused: nothing to write, no transaction.
        const nothing = offset === undefined && events.length === 0 && credentials.length === 0;
        try {
          if (!nothing)
            await writer.append({
              events,
              ...(offset !== undefined ? { commandOffset: offset.toString() } : {}),
              credentials,
              ...(feed.length > 0 ? { feed, feedTrace, member, committed } : {}),
            });
        } finally {
          for (const span of spans) span.end();
        }
        if (offset !== undefined) this.committed(writer, offset);
        for (const change of credentials) this.credentials.apply(change);
        for (const event of events) this.store.apply(upcast(event), partition);
      },
      feedTrace,
    );
    for (const [requestId, outcome] of refused) this.rememberRefusal(requestId, outcome);
    await Promise.all(
      decided
        .filter(({ command }) => command.replyTo)
        .map(({ command, decision }) =>
          this.replies.send(command.replyTo, command.requestId, decision.outcome).catch((error: unknown) => {
            this.logger.warn(`reply for ${command.commandId} lost: ${(error as Error).message}`);
          }),
        ),
    );
    return { decided: decided.length, last };
  }

  /** The communications whose feed-changing events `events` holds, as the staged view has them. */
  private changedCommunications(
    view: AggregateView,
    events: EventEnvelope[],
    partition: number,
  ): VersionedCommunication[] {
    const ids = new Set<string>();
    for (const event of events) if (COMMUNICATION_FEED_CHANGES.has(event.type)) ids.add(event.aggregateId);
    return [...ids].map((id) => {
      const { state, version } = view.get('communication', id, partition);
      return { state: state as CommunicationState, version };
    });
  }

  private rememberRefusal(requestId: string, outcome: CommandOutcome): void {
    this.refusals.set(requestId, outcome);
    if (this.refusals.size > REMEMBERED_REFUSALS) this.refusals.delete(this.refusals.keys().next().value!);
  }

  /**
   * Regions and stores live in other partitions, read by the tail. A refusal that looked
   * one up in vain is decided again once the tail has caught up with every partition, to
   * their high watermarks (ACKNOWLEDGED_WRITES), so a store registered a moment ago is
   * never reported unknown.
   */
  private async decideWithFreshDirectory(
    view: AggregateView,
    command: CommandEnvelope,
    partition: number,
  ): Promise<Decision> {
    const misses: string[] = [];
    const decision = this.decide(view, command, partition, misses);
    if (decision.outcome.ok || misses.length === 0) return decision;
    // What another partition's owner committed and answered for a moment ago (a new store) counts.
    await this.history.catchUp(undefined, ACKNOWLEDGED_WRITES);
    return this.decide(view, command, partition);
  }

  /**
   * Pure apart from reading the store: the outcome of one command and the events to
   * append. Replays of a finished command (same commandId) answer its first outcome.
   */
  decide(view: AggregateView, command: CommandEnvelope, partition: number, misses: string[] = []): Decision {
    const entry = view.get(command.aggregateType, command.aggregateId, partition);
    const previous = view.record(command.commandId);
    if (previous) {
      if (previous.commandHash !== undefined && previous.commandHash !== command.commandHash) {
        return this.refusal(422, 'Unprocessable Entity', 'Idempotency-Key was already used with a different request');
      }
      return { outcome: previous.outcome, events: [], credentials: [] };
    }
    if (command.expectedVersion !== undefined && command.expectedVersion !== entry.version) {
      return {
        outcome: {
          ok: false,
          status: 409,
          error: 'Conflict',
          message: `version mismatch: expected ${command.expectedVersion}, current is ${entry.version}`,
          currentVersion: entry.version,
        },
        events: [],
        credentials: [],
      };
    }
    const decider = DECIDERS[command.aggregateType] as {
      decide(command: AnyCommand, state: unknown, context: object): Array<{ type: EventType; data: unknown }>;
    };
    try {
      const domainCommand = { type: command.type, payload: command.payload } as AnyCommand;
      const now = this.clock.now();
      const drafts = decider.decide(domainCommand, entry.state, {
        actor: command.actor,
        now,
        directory: view.directory(misses),
        credentials: this.credentials,
      });
      const occurredAt = now.toISOString();
      const events = drafts.map((draft, index): EventEnvelope => ({
        id: randomUUID(),
        type: draft.type,
        schemaVersion: CURRENT_SCHEMA_VERSIONS[draft.type],
        aggregateType: command.aggregateType,
        aggregateId: command.aggregateId,
        aggregateVersion: entry.version + index + 1,
        occurredAt,
        actor: command.actor,
        commandId: command.commandId,
        correlationId: command.correlationId,
        causationId: command.commandId,
        commandHash: command.commandHash,
        data: draft.data,
      }));
      const last = events.at(-1);
      return {
        events,
        credentials: credentialChanges(domainCommand, command.aggregateId, drafts, occurredAt),
        outcome: {
          ok: true,
          status: entry.version === 0 ? 201 : 200,
          body: {
            id: command.aggregateId,
            version: last?.aggregateVersion ?? entry.version,
            eventIds: events.map((e) => e.id),
          },
        },
      };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return {
        events: [],
        credentials: [],
        outcome: {
          ok: false,
          status: error.status,
          error: error.error,
          message: error.message,
          ...(error instanceof InvalidCommand ? { fields: error.fields } : {}),
          ...('currentVersion' in error && error.currentVersion !== undefined
            ? { currentVersion: error.currentVersion as number }
            : {}),
        },
      };
    }
  }

  private refusal(status: 422, error: string, message: string): Decision {
    return { outcome: { ok: false, status, error, message }, events: [], credentials: [] };
  }

  /** For the scheduler: decide a system command inside the partition's queue. */
  async decideAsSystem(partition: number, command: CommandEnvelope): Promise<Decision> {
    const writer = await this.writers.writerFor(partition);
    return writer.serialize(async () => {
      const key = [command.aggregateType, command.aggregateId] as const;
      const release = this.store.pin([key]);
      try {
        await Promise.all([this.store.load([key]), this.store.loadRecords([command.commandId])]);
        const decision = await this.decideWithFreshDirectory(this.store.stage(), command, partition);
        if (decision.events.length > 0) {
          await writer.append({ events: decision.events, credentials: decision.credentials });
          for (const change of decision.credentials) this.credentials.apply(change);
          for (const event of decision.events) this.store.apply(upcast(event), partition);
        }
        return decision;
      } finally {
        release();
      }
    });
  }
}

/** The larger of two offsets, either unknown. */
function max(a: bigint, b: bigint | undefined): bigint {
  return b === undefined || a > b ? a : b;
}
