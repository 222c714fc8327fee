/**
 * What every client → server message of `/terminal` goes through: the size limit,
 * validation like HTTP bodies, and the mapping of the outcome to its ack
 * (`{ ok, duplicate?, error?: { message, fields? } }`). The use cases themselves are
 * the TerminalMessageHandlers beside this file, one per event.
 */
import type { Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { flattenValidationErrors, NOT_RECORDED, READ_MODELS_UNAVAILABLE, type Ack } from '@lastmeter/contracts';
import { isRedisUnavailable } from '@lastmeter/redis';
import { ReadModelsRecovering } from '../../read/read-models.service';
import type { TerminalSession } from '../feed-relay';
import { ActivityInFlight, NotConfirmed, WriterBusy } from '../store-activity-writer';

/** Largest client → server message, as JSON. */
export const MAX_MESSAGE_BYTES = 16 * 1024;

/** One client → server event: validates, authorises and records the message. */
export interface TerminalMessageHandler {
  /** `duplicate` when the same fact was already recorded (a resend): nothing new was written. */
  handle(session: TerminalSession, body: unknown): Promise<{ duplicate: boolean }>;
}

/** Refused with a message only (no field errors); nothing is written. */
export class Rejected extends Error {}

/**
 * Not checked: the store's feed in Redis is behind what the terminal holds (it was handed
 * items on commit, by another gateway, before a projector wrote them). Answered as
 * READ_MODELS_UNAVAILABLE: nothing is written, resend shortly.
 */
export class ReadModelsBehind extends Error {}

/** Refused with per-field errors; nothing is written. */
export class InvalidMessage extends Error {
  constructor(readonly fields: Record<string, string[]>) {
    super(`invalid message: ${Object.keys(fields).join(', ')}`);
  }
}

/** Validates a socket message like the HTTP pipe does: whitelist, no unknown fields, per-field errors. */
export async function parseMessage<T extends object>(type: new () => T, body: unknown): Promise<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidMessage({ $: ['must be a JSON object'] });
  }
  const instance = plainToInstance(type, body);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw new InvalidMessage(flattenValidationErrors(errors));
  return instance;
}

/** Size check, validation and authorisation errors become `{ ok: false, error }`; nothing is written. */
export async function answerMessage(
  handler: TerminalMessageHandler,
  session: TerminalSession,
  body: unknown,
  logger: Logger,
): Promise<Ack> {
  try {
    if (Buffer.byteLength(JSON.stringify(body ?? null)) > MAX_MESSAGE_BYTES) {
      throw new Rejected(`message larger than ${MAX_MESSAGE_BYTES} bytes`);
    }
    return ackOf(await handler.handle(session, body), session, logger);
  } catch (error) {
    return ackOf(asError(error), session, logger);
  }
}

/** Whatever was thrown, as an Error (so that it can never pass for an outcome). */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * The ack of one fact's outcome. Refusals say why (with per-field errors when invalid);
 * retryable states (in flight elsewhere, busy, not confirmed, read models unavailable)
 * say so; anything else is a failure to reach the log, logged and answered NOT_RECORDED
 * (retryable too).
 */
export function ackOf(outcome: { duplicate: boolean } | Error, session: TerminalSession, logger?: Logger): Ack {
  if (!(outcome instanceof Error)) return outcome.duplicate ? { ok: true, duplicate: true } : { ok: true };
  if (outcome instanceof InvalidMessage) {
    return { ok: false, error: { message: outcome.message, fields: outcome.fields } };
  }
  if (
    outcome instanceof Rejected ||
    outcome instanceof ActivityInFlight ||
    outcome instanceof WriterBusy ||
    outcome instanceof NotConfirmed
  ) {
    return { ok: false, error: { message: outcome.message } };
  }
  // The feed check could not read Redis (failing over, or re-projected), or Redis is behind: resend shortly.
  if (outcome instanceof ReadModelsRecovering || outcome instanceof ReadModelsBehind || isRedisUnavailable(outcome)) {
    return { ok: false, error: { message: READ_MODELS_UNAVAILABLE } };
  }
  logger?.warn(`message from ${session.terminalId} not recorded: ${outcome.message}`);
  return { ok: false, error: { message: NOT_RECORDED } };
}
