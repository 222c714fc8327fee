/** Command intake: turns an HTTP write into a command on the log and waits for its outcome. */
import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Optional,
  type OnApplicationShutdown,
  ServiceUnavailableException,
} from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { Actor, CommandEnvelope, CommandOutcome } from '@lastmeter/contracts';
import { aggregateTypeOfCommand, type AnyCommand, type CommandType } from '@lastmeter/domain';
import { GroupCommitFull, inSpan, SpanKind, traceHeaders } from '@lastmeter/kafka';
import type { Clock, CommandLog, InRequestDecider, ReplyWaiter } from './ports';
import { ReplyChannel } from './reply-channel';
import { CLOCK, COMMAND_LOG, IN_REQUEST_DECIDER } from './write-engine.tokens';
import { WriteMetrics, type CommandOutcomeLabel } from './write-metrics';

/** Namespace for ids derived from an actor's Idempotency-Key (uuid v5). */
const IDEMPOTENT_IDS = 'a8d2f1e4-3c5b-4e7a-9f10-6b2c8d4e5f70';
/** How long a request waits for the decider before answering 202 pending. */
export const REPLY_TIMEOUT_MS = 10_000;
/**
 * Requests of this instance waiting for their decision (dispatch, not dispatchMany's
 * own bounded batches); beyond it a request is answered 503 busy before anything is
 * recorded. Under overload the API sheds load explicitly and fast instead of piling up
 * connections that would be answered 202 after REPLY_TIMEOUT_MS anyway.
 */
export const MAX_WAITING_REQUESTS = 2_000;
/** Retry-After (seconds) of a busy answer. */
export const BUSY_RETRY_AFTER_S = 1;
/** dispatchMany: commands per produce, and produces awaiting their outcomes at once. */
export const BATCH_CHUNK = 500;
export const BATCH_IN_FLIGHT = 4;

/**
 * The id of the aggregate a natural key names (a region or store code, a username):
 * the same key always gives the same id, whoever creates it and through which route.
 */
export function naturalAggregateId(type: CommandType, naturalKey: string): string {
  return uuidv5(`${aggregateTypeOfCommand(type)}:${naturalKey}`, IDEMPOTENT_IDS);
}

export interface Dispatch {
  command: AnyCommand;
  actor: Actor;
  /** Existing aggregate; omitted for creations (a new id is made). */
  aggregateId?: string;
  /** Creations keyed by a natural key (store code, username) use its derived id. */
  naturalKey?: string;
  expectedVersion?: number;
  idempotencyKey?: string;
  correlationId?: string;
}

/** What became of one command of a batch (dispatchMany). */
export type BatchResult = { commandId: string; aggregateId: string } & (
  | { status: 'decided'; outcome: CommandOutcome }
  /** Appended, but no outcome within the timeout: the decision still happens. */
  | { status: 'pending' }
  /** Its produce failed: it may or may not be in the log (if it is, it is decided once). */
  | { status: 'unconfirmed'; reason: string }
  /** Never sent (the log failed on an earlier produce, or the caller stopped): nothing recorded. */
  | { status: 'unsent'; reason: string }
);

export interface BatchOptions {
  /** Commands per produce (one producer.send); default BATCH_CHUNK. */
  chunkSize?: number;
  /**
   * Produces awaiting their outcomes at once (default BATCH_IN_FLIGHT): bounds how many
   * commands of one batch queue ahead of other requests' on the commands partitions.
   */
  inFlight?: number;
  /** How long a chunk waits for its outcomes after its produce; default REPLY_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Called after each chunk settles, with the number of commands settled so far and the chunk's results. */
  onProgress?: (settled: number, chunk: readonly BatchResult[]) => void;
  /** Once aborted, no further chunk is sent (those sent are still awaited). */
  signal?: AbortSignal;
}

/** 503 for an overloaded instance: nothing was recorded, retry after BUSY_RETRY_AFTER_S. */
/** A batch result as `lastmeter_commands_total` counts it. */
function batchOutcome(result: BatchResult): CommandOutcomeLabel {
  switch (result.status) {
    case 'decided':
      return result.outcome.ok ? 'accepted' : 'refused';
    case 'pending':
      return 'pending';
    default:
      return 'unavailable';
  }
}

function busy(why: string): ServiceUnavailableException {
  return new ServiceUnavailableException({
    statusCode: 503,
    error: 'Service Unavailable',
    message: `the command service is busy (${why}); nothing was recorded; retry in ${BUSY_RETRY_AFTER_S} s`,
    retryAfter: BUSY_RETRY_AFTER_S,
  });
}

/** Deterministic JSON (sorted keys) so equal bodies hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The HTTP side of a write: turns a validated, authorised request into a command on
 * lastmeter.commands.v1 (keyed by aggregate id, acks=all) and waits for the decider's
 * outcome. Kafka unreachable → 503 with Retry-After and nothing appended. Overloaded
 * (MAX_WAITING_REQUESTS waiting, or the log's queue full) → 503 busy with Retry-After
 * 1 and nothing appended. No outcome within REPLY_TIMEOUT_MS → 202 pending (the
 * decision still happens).
 */
@Injectable()
export class CommandBus implements OnApplicationShutdown {
  /** dispatch calls between their start and their answer. */
  private waiting = 0;

  constructor(
    @Inject(COMMAND_LOG) private readonly log: CommandLog,
    @Inject(ReplyChannel) private readonly replies: ReplyWaiter,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() @Inject(WriteMetrics) private readonly metrics: WriteMetrics = WriteMetrics.none(),
    /** COMMAND_DECIDE_IN_REQUEST: decides here the commands of this instance's partitions. */
    @Optional() @Inject(IN_REQUEST_DECIDER) private readonly decider?: InRequestDecider,
  ) {}

  async dispatch(request: Dispatch): Promise<Extract<CommandOutcome, { ok: true }>> {
    if (this.waiting >= MAX_WAITING_REQUESTS) {
      this.metrics.command(request.command.type, 'busy');
      throw busy(`${this.waiting} requests are waiting for their decision`);
    }
    this.waiting++;
    try {
      // The command's span: its record carries it, so the decision continues this trace.
      return await inSpan(`command ${request.command.type}`, { kind: SpanKind.PRODUCER }, () =>
        this.dispatchOne(request),
      );
    } finally {
      this.waiting--;
    }
  }

  private async dispatchOne(request: Dispatch): Promise<Extract<CommandOutcome, { ok: true }>> {
    const envelope = this.envelopeOf(request);
    const { aggregateId, commandId, requestId } = envelope;
    const started = performance.now();
    const answered = (outcome: CommandOutcomeLabel) =>
      this.metrics.command(request.command.type, outcome, (performance.now() - started) / 1000);
    const reply = this.replies.expect(requestId, REPLY_TIMEOUT_MS);
    try {
      await this.intake(envelope, mintsCommandId(request));
    } catch (error) {
      reply.cancel();
      if (error instanceof GroupCommitFull) {
        answered('busy');
        throw busy(error.message);
      }
      answered('unavailable');
      throw new ServiceUnavailableException({
        statusCode: 503,
        error: 'Service Unavailable',
        message: `the event log is unreachable, nothing was recorded; retry later (${(error as Error).message})`,
      });
    }

    const outcome = await reply.outcome;
    answered(!outcome ? 'pending' : outcome.ok ? 'accepted' : 'refused');
    if (!outcome) {
      // Accepted into the log but not decided in time: the decision will still happen.
      // Retrying with the same Idempotency-Key returns it.
      throw new HttpException(
        { statusCode: 202, id: aggregateId, commandId, status: 'pending', message: 'accepted, decision pending' },
        HttpStatus.ACCEPTED,
      );
    }
    if (!outcome.ok) {
      const { ok: _ok, status, ...body } = outcome;
      throw new HttpException({ statusCode: status, ...body }, status);
    }
    return outcome;
  }

  /**
   * Decided here, in the request, when this instance owns the command's partition (its
   * outcome then comes through the reply channel at once); otherwise, or if that fails or
   * waits too long for the partition's writer, appended to the log for its decider.
   */
  private async intake(envelope: CommandEnvelope, minted: boolean): Promise<void> {
    if (this.decider && (await this.decider.decideInRequest(envelope, { trace: traceHeaders(), minted }))) {
      this.metrics.commandTaken('request');
      return;
    }
    await this.log.append(envelope.aggregateId, envelope);
    this.metrics.commandTaken('log');
  }

  /**
   * Many commands at once (a bulk import): each becomes the same envelope `dispatch`
   * would make, but they go out `chunkSize` per produce, up to `inFlight` produces
   * awaiting their outcomes at once, instead of one produce and one wait per command.
   * Everything else is the single path's: each reply is registered before its produce,
   * each command is keyed by its aggregate id (so the partition's single writer decides
   * it, in order with the others of its partition, in its batched transaction), and a
   * copy written twice by a retried produce is decided once (commandId / requestId).
   *
   * Never throws for a command: the result of each, in request order, says what became
   * of it. A failed produce stops the batch: its commands are `unconfirmed`, those not
   * sent yet `unsent` (nothing recorded); the chunks already sent are still awaited.
   */
  async dispatchMany(requests: readonly Dispatch[], options: BatchOptions = {}): Promise<BatchResult[]> {
    const chunkSize = Math.max(1, options.chunkSize ?? BATCH_CHUNK);
    const inFlight = Math.max(1, options.inFlight ?? BATCH_IN_FLIGHT);
    const timeoutMs = options.timeoutMs ?? REPLY_TIMEOUT_MS;
    const results: BatchResult[] = new Array(requests.length);
    let next = 0;
    let settled = 0;
    let failure: string | undefined;

    const sendChunk = async (start: number, end: number): Promise<void> => {
      // Envelopes are made chunk by chunk: a large batch is never in memory twice.
      const envelopes = requests.slice(start, end).map((request) => this.envelopeOf(request));
      const replies = envelopes.map((envelope) => this.replies.expect(envelope.requestId, timeoutMs));
      try {
        await this.log.appendMany(envelopes.map((command) => ({ key: command.aggregateId, command })));
      } catch (error) {
        for (const reply of replies) reply.cancel();
        const reason = `the event log is unreachable (${(error as Error).message})`;
        failure ??= reason;
        envelopes.forEach(({ commandId, aggregateId }, i) => {
          results[start + i] = { status: 'unconfirmed', commandId, aggregateId, reason };
        });
        return;
      }
      await Promise.all(
        replies.map(async (reply, i) => {
          const { commandId, aggregateId } = envelopes[i]!;
          const outcome = await reply.outcome;
          results[start + i] = outcome
            ? { status: 'decided', commandId, aggregateId, outcome }
            : { status: 'pending', commandId, aggregateId };
        }),
      );
    };

    const worker = async (): Promise<void> => {
      while (next < requests.length && failure === undefined && !options.signal?.aborted) {
        const start = next;
        next = Math.min(start + chunkSize, requests.length);
        const end = next;
        await sendChunk(start, end);
        settled += end - start;
        options.onProgress?.(settled, results.slice(start, end));
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, Math.ceil(requests.length / chunkSize)) }, worker));

    const reason = failure ?? 'not sent: the batch was stopped';
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i]!;
      if (!results[i]) {
        const commandId = request.idempotencyKey ? `${request.actor.id}:${request.idempotencyKey}` : '';
        results[i] = { status: 'unsent', commandId, aggregateId: this.aggregateIdOf(request, commandId, ''), reason };
      }
      this.metrics.command(request.command.type, batchOutcome(results[i]!));
    }
    return results;
  }

  /** The CommandEnvelope of a request, with this instance's reply channel. */
  private envelopeOf(request: Dispatch): CommandEnvelope {
    const commandId = mintsCommandId(request) ? randomUUID() : `${request.actor.id}:${request.idempotencyKey}`;
    const aggregateId = this.aggregateIdOf(request, commandId);
    const requestId = randomUUID();
    return {
      commandId,
      requestId,
      replyTo: this.replies.channel,
      type: request.command.type,
      aggregateType: aggregateTypeOfCommand(request.command.type),
      aggregateId,
      ...(request.expectedVersion !== undefined ? { expectedVersion: request.expectedVersion } : {}),
      actor: request.actor,
      payload: request.command.payload,
      commandHash: createHash('sha256')
        .update(
          canonical({ type: request.command.type, aggregateId: request.aggregateId, payload: request.command.payload }),
        )
        .digest('base64url'),
      issuedAt: this.clock.now().toISOString(),
      correlationId: request.correlationId ?? requestId,
    };
  }

  /** Given, derived from a natural key, derived from the Idempotency-Key, or new. */
  private aggregateIdOf(request: Dispatch, commandId: string, fresh: string = randomUUID()): string {
    return (
      request.aggregateId ??
      (request.naturalKey
        ? naturalAggregateId(request.command.type, request.naturalKey)
        : request.idempotencyKey
          ? uuidv5(commandId, IDEMPOTENT_IDS)
          : fresh)
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.log.close();
  }
}

/**
 * Whether a request's commandId is made for it (a random one: it has no Idempotency-Key),
 * so that no earlier decision can know it.
 */
function mintsCommandId(request: Dispatch): boolean {
  return !request.idempotencyKey;
}
