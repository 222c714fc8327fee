import type { ValidationError } from 'class-validator';
import { ACTOR_ROLES } from './roles';
import { AGGREGATE_TYPES, STREAM_TYPES, type EventEnvelope } from './event-envelope';
import { EVENT_TYPES } from './event-types';
import { expandFeedBatch, FEED_BATCH, type FeedBatchRecord } from './events/feed';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
/** RFC 3339 / ISO 8601 date-time as producers write it (`toISOString()` and offsets). */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);
const AGGREGATE_TYPE_SET: ReadonlySet<string> = new Set([...AGGREGATE_TYPES, ...STREAM_TYPES]);
const ACTOR_ROLE_SET: ReadonlySet<string> = new Set(ACTOR_ROLES);

type Problems = Record<string, string[]>;

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function check(problems: Problems, field: string, ok: boolean, message: string): void {
  if (!ok) (problems[field] ??= []).push(message);
}

/**
 * The envelope's shape, checked by hand: every consumer checks every message, and a
 * generic validator (class-transformer + class-validator) cost more than the rest of
 * the projection together. Messages follow class-validator's wording.
 */
function envelopeProblems(value: Record<string, unknown>): Problems {
  const problems: Problems = {};
  const { actor } = value as { actor?: unknown };
  check(problems, 'id', typeof value.id === 'string' && UUID.test(value.id), 'id must be a UUID');
  check(problems, 'type', EVENT_TYPE_SET.has(value.type as string), 'type must be one of the event types');
  check(
    problems,
    'schemaVersion',
    Number.isInteger(value.schemaVersion) && (value.schemaVersion as number) >= 1,
    'schemaVersion must be an integer not less than 1',
  );
  check(
    problems,
    'aggregateType',
    AGGREGATE_TYPE_SET.has(value.aggregateType as string),
    'aggregateType must be one of the aggregate types',
  );
  check(problems, 'aggregateId', nonEmptyString(value.aggregateId), 'aggregateId must be a non-empty string');
  check(
    problems,
    'aggregateVersion',
    Number.isInteger(value.aggregateVersion) && (value.aggregateVersion as number) >= 1,
    'aggregateVersion must be an integer not less than 1',
  );
  check(
    problems,
    'occurredAt',
    typeof value.occurredAt === 'string' &&
      ISO_DATE_TIME.test(value.occurredAt) &&
      !Number.isNaN(Date.parse(value.occurredAt)),
    'occurredAt must be a valid ISO 8601 date string',
  );
  if (typeof actor !== 'object' || actor === null || Array.isArray(actor)) {
    check(problems, 'actor', false, 'actor must be an object');
  } else {
    const { id, role, storeId } = actor as Record<string, unknown>;
    check(problems, 'actor.id', nonEmptyString(id), 'id must be a non-empty string');
    check(problems, 'actor.role', ACTOR_ROLE_SET.has(role as string), 'role must be one of the actor roles');
    check(problems, 'actor.storeId', storeId === undefined || typeof storeId === 'string', 'storeId must be a string');
  }
  for (const field of ['commandId', 'correlationId', 'causationId'] as const) {
    check(problems, field, nonEmptyString(value[field]), `${field} must be a non-empty string`);
  }
  check(
    problems,
    'commandHash',
    value.commandHash === undefined || typeof value.commandHash === 'string',
    'commandHash must be a string',
  );
  check(
    problems,
    'data',
    typeof value.data === 'object' && value.data !== null && !Array.isArray(value.data),
    'data must be an object',
  );
  return problems;
}

export class InvalidEnvelope extends Error {
  override name = 'InvalidEnvelope';
  constructor(readonly fields: Record<string, string[]>) {
    super(
      `invalid event envelope: ${Object.entries(fields)
        .map(([f, m]) => `${f}: ${m.join(', ')}`)
        .join('; ')}`,
    );
  }
}

export function flattenValidationErrors(errors: ValidationError[], parent = ''): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints) fields[path] = Object.values(error.constraints);
    Object.assign(fields, flattenValidationErrors(error.children ?? [], path));
  }
  return fields;
}

/**
 * Checks the shape of a message read from an event topic (before upcasting). Whatever
 * fails here goes to the DLQ with these field errors instead of stopping a consumer.
 */
export function parseEnvelope(raw: Buffer | string | unknown): EventEnvelope {
  let value: unknown = raw;
  if (Buffer.isBuffer(raw) || typeof raw === 'string') {
    try {
      value = JSON.parse(raw.toString());
    } catch (error) {
      throw new InvalidEnvelope({ $: [`not JSON: ${(error as Error).message}`] });
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidEnvelope({ $: ['not a JSON object'] });
  }
  const problems = envelopeProblems(value as Record<string, unknown>);
  if (Object.keys(problems).length > 0) throw new InvalidEnvelope(problems);
  return value as EventEnvelope;
}

/**
 * The events one record of an event topic holds: one envelope, or, on lastmeter.feed.v1,
 * a feed batch record (`feedBatchRecord`) expanded into its `feed.appended` events. Each
 * is checked like `parseEnvelope`; a malformed record throws InvalidEnvelope as a whole.
 */
export function parseRecord(raw: Buffer | string | unknown): EventEnvelope[] {
  let value: unknown = raw;
  if (Buffer.isBuffer(raw) || typeof raw === 'string') {
    try {
      value = JSON.parse(raw.toString());
    } catch (error) {
      throw new InvalidEnvelope({ $: [`not JSON: ${(error as Error).message}`] });
    }
  }
  const batch = value as Partial<FeedBatchRecord> | null;
  if (batch?.type !== FEED_BATCH) return [parseEnvelope(value)];
  if (!Array.isArray(batch.entries) || !Array.isArray(batch.communications) || typeof batch.occurredAt !== 'string') {
    throw new InvalidEnvelope({ $: ['a feed batch needs occurredAt, communications and entries'] });
  }
  let events: unknown[];
  try {
    events = expandFeedBatch(batch as FeedBatchRecord);
  } catch (error) {
    throw new InvalidEnvelope({ entries: [(error as Error).message] });
  }
  return events.map((event) => parseEnvelope(event));
}
