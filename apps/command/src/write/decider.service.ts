import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  CURRENT_SCHEMA_VERSIONS,
  upcast,
  type CommandEnvelope,
  type CommandOutcome,
  type CredentialChange,
  type EventEnvelope,
  type EventType,
  type TopicNames,
} from '@lastmeter/contracts';
import { credentialChanges, DECIDERS, DomainError, InvalidCommand, type AnyCommand } from '@lastmeter/domain';
import { KAFKA, TOPIC_NAMES, TopicsBootstrap, type Consumer, type Kafka } from '@lastmeter/kafka';
import type { AggregateStore, AggregateView } from './aggregate-store';
import { CredentialStore } from './credential-store';
import { EventTail } from './event-tail';
import type { PartitionWriter } from './partition-writer';
import { PartitionWriters } from './partition-writers';
import { ReplyChannel } from './reply-channel';
import { AGGREGATE_STORE } from './tokens';

/** Bounds a transaction (and the work redone if it fails). */
const MAX_COMMANDS_PER_TRANSACTION = 200;

export interface Decision {
  outcome: CommandOutcome;
  events: EventEnvelope[];
  /** Secrets to write to lastmeter.credentials.v1 with the events (docs/security.md). */
  credentials: CredentialChange[];
}

/**
 * The single writer (DESIGN.md section 4): a consumer group over the commands topic.
 * Each partition is decided sequentially by its owner, against aggregate state that is
 * complete up to the last stable offset of the same events partition, and each decision
 * is one Kafka transaction (events + command offset).
 */
@Injectable()
export class DeciderService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeciderService.name);
  readonly groupId: string;
  private consumer?: Consumer;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(AGGREGATE_STORE) private readonly store: AggregateStore,
    private readonly credentials: CredentialStore,
    private readonly tail: EventTail,
    private readonly replies: ReplyChannel,
    private readonly topicsBootstrap: TopicsBootstrap,
    private readonly writers: PartitionWriters,
  ) {
    this.groupId = writers.groupId;
  }

  onApplicationBootstrap(): void {
    void this.start().catch((error: unknown) => this.logger.error(`decider stopped: ${(error as Error).message}`));
  }

  private async start(): Promise<void> {
    await this.topicsBootstrap.ready();
    await this.tail.start();
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      // The broker's minimum: a crashed owner's partitions move on after 6 s.
      sessionTimeout: 6_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 50,
    });
    this.consumer = consumer;
    // After any rebalance the partitions may have had another writer: re-fence and catch
    // up before deciding again.
    // Open the assigned partitions' writers now, not at their next command: the
    // scheduler and the feed sequencer need them, and fencing + catch-up should not
    // delay the first request.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      this.writers.reassign(payload.memberAssignment[this.topics.commands] ?? []),
    );
    await consumer.connect();
    await consumer.subscribe({ topic: this.topics.commands, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 12,
      eachBatch: async ({ batch, isRunning, isStale, resolveOffset, heartbeat }) => {
        if (batch.isEmpty()) return;
        const writer = await this.writers.writerFor(batch.partition);
        const last = await writer.serialize(() =>
          this.decideBatch(writer, batch.partition, batch.messages, () => isRunning() && !isStale()),
        );
        // Only what was committed is resolved: kafkajs fetches the rest again.
        if (last !== undefined) resolveOffset(last);
        await heartbeat();
      },
    });
  }

  /**
   * Decides a run of commands of one partition against a staged view (so each sees the
   * ones before it) and appends all their events with the offset of the last one in one
   * transaction. Nothing reaches the in-memory store or a client before Kafka has it.
   */
  private async decideBatch(
    writer: PartitionWriter,
    partition: number,
    messages: Array<{ offset: string; value: Buffer | null }>,
    stillOwned: () => boolean,
  ): Promise<string | undefined> {
    const view = this.store.stage();
    const decided: Array<{ command: CommandEnvelope; decision: Decision }> = [];
    let last: string | undefined;
    for (const message of messages) {
      if (!stillOwned() || decided.length >= MAX_COMMANDS_PER_TRANSACTION) break;
      const command = JSON.parse(message.value!.toString()) as CommandEnvelope;
      const decision = await this.decideWithFreshDirectory(view, command, partition);
      for (const event of decision.events) view.apply(upcast(event), partition);
      decided.push({ command, decision });
      last = message.offset;
    }
    if (last === undefined) return undefined;
    const credentials = decided.flatMap(({ decision }) => decision.credentials);
    await writer.append({
      events: decided.flatMap(({ decision }) => decision.events),
      commandOffset: (BigInt(last) + 1n).toString(),
      credentials,
    });
    for (const change of credentials) this.credentials.apply(change);
    for (const { decision } of decided) for (const event of decision.events) this.store.apply(upcast(event), partition);
    await Promise.all(
      decided
        .filter(({ command }) => command.replyTo)
        .map(({ command, decision }) =>
          this.replies.send(command.replyTo, command.requestId, decision.outcome).catch((error: unknown) => {
            this.logger.warn(`reply for ${command.commandId} lost: ${(error as Error).message}`);
          }),
        ),
    );
    return last;
  }

  /**
   * Regions and stores live in other partitions, read by the tail. A refusal that looked
   * one up in vain is decided again once the tail has caught up with every partition, so
   * a store registered a moment ago is never reported unknown.
   */
  private async decideWithFreshDirectory(
    view: AggregateView,
    command: CommandEnvelope,
    partition: number,
  ): Promise<Decision> {
    const misses: string[] = [];
    const decision = this.decide(view, command, partition, misses);
    if (decision.outcome.ok || misses.length === 0) return decision;
    await this.tail.catchUp();
    return this.decide(view, command, partition);
  }

  /**
   * Pure apart from reading the store: the outcome of one command and the events to
   * append. Replays of a finished command (same commandId) answer its first outcome.
   */
  decide(view: AggregateView, command: CommandEnvelope, partition: number, misses: string[] = []): Decision {
    const entry = view.get(command.aggregateType, command.aggregateId, partition);
    const previous = entry.commands.get(command.commandId);
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
      const drafts = decider.decide(domainCommand, entry.state, {
        actor: command.actor,
        now: new Date(),
        directory: view.directory(misses),
        credentials: this.credentials,
      });
      const occurredAt = new Date().toISOString();
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
      const decision = await this.decideWithFreshDirectory(this.store.stage(), command, partition);
      if (decision.events.length > 0) {
        await writer.append({ events: decision.events, credentials: decision.credentials });
        for (const change of decision.credentials) this.credentials.apply(change);
        for (const event of decision.events) this.store.apply(upcast(event), partition);
      }
      return decision;
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
