import type { Actor } from './roles';

export const AGGREGATE_TYPES = ['communication', 'store', 'region', 'terminal', 'user', 'staff'] as const;
export type AggregateType = (typeof AGGREGATE_TYPES)[number];

/**
 * Streams that are not decided aggregates: store activity (receipts, reports, presence;
 * aggregateId is the fact's own id) and store feeds (aggregateId is the store id and
 * aggregateVersion is the entry's feedSeq).
 */
export const STREAM_TYPES = ['store-activity', 'feed'] as const;
export type StreamType = (typeof STREAM_TYPES)[number];

export function isAggregateType(type: string): type is AggregateType {
  return (AGGREGATE_TYPES as readonly string[]).includes(type);
}

/**
 * Every message on the event topics (docs/design.md section 3). `aggregateVersion` starts at
 * 1 and has no gaps per aggregate; `commandHash` (optional, ours) lets an idempotent
 * replay tell "same key, same body" from "same key, different body".
 */
export interface EventEnvelope<Type extends string = string, Data = unknown> {
  id: string;
  type: Type;
  schemaVersion: number;
  aggregateType: AggregateType | StreamType;
  aggregateId: string;
  aggregateVersion: number;
  occurredAt: string;
  actor: Actor;
  commandId: string;
  correlationId: string;
  causationId: string;
  commandHash?: string;
  data: Data;
}

/**
 * Any event as JSON on the event topics, whatever its type (the AsyncAPI document narrows
 * `type` and `data` per event type; tools/asyncapi.ts).
 */
export type EventEnvelopeJson = EventEnvelope<string, unknown>;

/** What a decider returns: the event without its envelope. */
export interface EventDraft<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
}
