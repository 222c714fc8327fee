import type { AggregateType } from './event-envelope';
import type { Actor } from './roles';

/**
 * A command on lastmeter.commands.v1, keyed by aggregate id. The decider that owns the
 * partition decides it and replies on `replyTo` with the outcome for `requestId`.
 */
export interface CommandEnvelope<Type extends string = string, Payload = unknown> {
  /** Idempotency identity: the actor-scoped Idempotency-Key, or a fresh uuid. */
  commandId: string;
  /** One per HTTP request; several requests may carry the same commandId. */
  requestId: string;
  /** Redis channel of the command instance waiting for the outcome. */
  replyTo: string;
  type: Type;
  aggregateType: AggregateType;
  aggregateId: string;
  /** If-Match: the version the client saw; a mismatch is 409. */
  expectedVersion?: number;
  actor: Actor;
  payload: Payload;
  /** sha256 of the request that produced it: same key + other body → 422. */
  commandHash: string;
  issuedAt: string;
  correlationId: string;
}

/** Any command as JSON on lastmeter.commands.v1 (its payload is the request body the command service validated). */
export type CommandEnvelopeJson = CommandEnvelope<string, unknown>;

/** What the waiting HTTP request answers with. */
export type CommandOutcome =
  | {
      ok: true;
      status: 200 | 201 | 202;
      body: { id: string; version: number; eventIds: string[] } & Record<string, unknown>;
    }
  | {
      ok: false;
      status: 400 | 403 | 404 | 409 | 422;
      error: string;
      message: string;
      fields?: Record<string, string[]>;
      currentVersion?: number;
    };
