/** Command intake: turns an HTTP write into a command on the log and waits for its outcome. */
import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  type OnApplicationShutdown,
  ServiceUnavailableException,
} from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { Actor, CommandEnvelope, CommandOutcome } from '@lastmeter/contracts';
import { aggregateTypeOfCommand, type AnyCommand } from '@lastmeter/domain';
import type { Clock, CommandLog, ReplyWaiter } from './ports';
import { ReplyChannel } from './reply-channel';
import { CLOCK, COMMAND_LOG } from './write-engine.tokens';

/** Namespace for ids derived from an actor's Idempotency-Key (uuid v5). */
const IDEMPOTENT_IDS = 'a8d2f1e4-3c5b-4e7a-9f10-6b2c8d4e5f70';
/** How long a request waits for the decider before answering 202 pending. */
export const REPLY_TIMEOUT_MS = 10_000;

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
 * outcome. Kafka unreachable → 503 with Retry-After and nothing appended. No outcome
 * within REPLY_TIMEOUT_MS → 202 pending (the decision still happens).
 */
@Injectable()
export class CommandBus implements OnApplicationShutdown {
  constructor(
    @Inject(COMMAND_LOG) private readonly log: CommandLog,
    @Inject(ReplyChannel) private readonly replies: ReplyWaiter,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async dispatch(request: Dispatch): Promise<Extract<CommandOutcome, { ok: true }>> {
    const commandId = request.idempotencyKey ? `${request.actor.id}:${request.idempotencyKey}` : randomUUID();
    const aggregateId =
      request.aggregateId ??
      (request.naturalKey
        ? uuidv5(`${aggregateTypeOfCommand(request.command.type)}:${request.naturalKey}`, IDEMPOTENT_IDS)
        : request.idempotencyKey
          ? uuidv5(commandId, IDEMPOTENT_IDS)
          : randomUUID());
    const requestId = randomUUID();
    const envelope: CommandEnvelope = {
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

    const reply = this.replies.expect(requestId, REPLY_TIMEOUT_MS);
    try {
      await this.log.append(aggregateId, envelope);
    } catch (error) {
      reply.cancel();
      throw new ServiceUnavailableException({
        statusCode: 503,
        error: 'Service Unavailable',
        message: `the event log is unreachable, nothing was recorded; retry later (${(error as Error).message})`,
      });
    }

    const outcome = await reply.outcome;
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

  async onApplicationShutdown(): Promise<void> {
    await this.log.close();
  }
}
