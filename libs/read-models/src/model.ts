import type { DomainEvent } from '@lastmeter/contracts';
import type { RedisKeys } from './redis-keys';
import type { ScriptName } from './scripts';

/** A document folded by one aggregate's events, guarded by its aggregateVersion. */
export interface VersionedDoc {
  version: number;
}

/** What a read model gets to project one event with. Writes are queued, never awaited. */
export interface ProjectionContext {
  readonly keys: RedisKeys;
  write(name: string, ...args: Array<string | number>): void;
  script(name: ScriptName, ...args: Array<string | number>): void;
  /** The document as this batch has folded it so far (preloaded from Redis). */
  doc<T extends VersionedDoc>(key: string): T | undefined;
  setDoc(key: string, doc: VersionedDoc): void;
  /** Tells gateways something once the batch is stored (e.g. a terminal was revoked). */
  announce(announcement: Announcement): void;
  /** A feed item was appended (if new, gateways are told once the batch is stored). */
  feedAppended(storeId: string, feedSeq: number, key: string, item: string): void;
  /**
   * A write that a terminal's answer to a feed item is checked against (the store was
   * targeted, the revision the item carries): made in the same pipeline as the batch's
   * feed appends, before them, so a terminal never holds an item the check does not know.
   */
  beforeFeed(name: string, ...args: Array<string | number>): void;
}

/** A change gateways must act on at once. */
export type Announcement =
  | { kind: 'terminal-revoked'; terminalId: string; storeId: string }
  /** A user was disabled, or their password or role changed: close their sockets. */
  | { kind: 'user-sessions-ended'; userId: string }
  /** A gateway asks the gateway holding `ref` (`<gateway id>/<socket id>`) to drop it: over TERMINAL_MAX_SOCKETS. */
  | { kind: 'terminal-socket-dropped'; terminalId: string; ref: string }
  | { kind: 'reach-changed'; communicationId: string }
  | { kind: 'presence-changed'; storeId: string }
  | { kind: 'report-filed'; storeId: string; reportId: string }
  /** A communication's due time came (issue 21): remind the tablets of who has not acknowledged it. */
  | { kind: 'due-reached'; communicationId: string; dueAt: string };

/** One read model: which documents an event folds (preloaded per batch) and how it projects. */
export interface ReadModel {
  name: string;
  documents?(event: DomainEvent, keys: RedisKeys): string[];
  project(event: DomainEvent, context: ProjectionContext): void;
}

/** Whether an aggregate's event is the next one for its document (false: already applied). */
export function nextVersion(doc: VersionedDoc | undefined, event: DomainEvent): boolean {
  const current = doc?.version ?? 0;
  if (event.aggregateVersion <= current) return false;
  if (event.aggregateVersion !== current + 1) {
    throw new Error(
      `version gap in ${event.aggregateType}/${event.aggregateId}: at ${current}, got ${event.aggregateVersion}`,
    );
  }
  return true;
}

/** Throws (→ DLQ) unless every named field of `data` is a non-empty string. */
export function requireStrings(data: unknown, ...fields: string[]): void {
  const record = (data ?? {}) as Record<string, unknown>;
  const missing = fields.filter((field) => typeof record[field] !== 'string' || record[field] === '');
  if (missing.length > 0) throw new Error(`data.${missing.join(', data.')} must be non-empty strings`);
}
