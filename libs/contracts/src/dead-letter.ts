/**
 * Records of lastmeter.dlq.v1, keyed by the original record's key: what a projector could
 * not apply (libs/read-models/src/dlq.ts writes them; `lastmeter dlq` reads and retries
 * them). Each carries the headers `kind` (its `kind`) and, on a dead letter, `error` (the
 * first 500 characters of its `error`).
 */

/** A record the projector could not apply: where it came from, why, and its original bytes. */
export interface DeadLetter {
  kind: 'dead-letter';
  id: string;
  source: { topic: string; partition: number; offset: string };
  error: string;
  failedAt: string;
  /** The consumer that failed (its group id). */
  consumer: string;
  /** The original value as UTF-8 text, or base64 when it is not valid UTF-8; null for a tombstone. */
  payload: string | null;
  payloadEncoding: 'utf8' | 'base64';
}

/** Written when a retry applied a dead letter: `dlq list` shows only unresolved ones. */
export interface DeadLetterResolved {
  kind: 'resolved';
  /** The `id` of the dead letter. */
  resolves: string;
  resolvedAt: string;
}

export type DlqRecord = DeadLetter | DeadLetterResolved;
