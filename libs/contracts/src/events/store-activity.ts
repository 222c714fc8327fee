import type { MediaRef } from '../media';
import type { SealedText } from './directory';
import type { Actor } from '../roles';
import { CURRENT_SCHEMA_VERSIONS, type DomainEvent, type EventDataByType, type EventType } from '../event-types';

/** Facts from stores, on lastmeter.store-events.v1 keyed by store id (issue "Realtime"). */
export interface ReceiptData {
  storeId: string;
  terminalId: string;
  communicationId: string;
  revision: number;
  /** The staff member signed in on the terminal who did it (issue 21); absent: the tablet itself. */
  staffId?: string;
}

/**
 * A store manager's decision on a suggested task of their store: `by` is the manager's
 * user id, or the staff member with the store-manager role signed in on `terminalId`.
 */
export interface TaskDecision {
  storeId: string;
  communicationId: string;
  revision: number;
  by: { userId: string } | { staffId: string; terminalId: string };
}

export interface StoreActivityEventData {
  'receipt.delivered': ReceiptData;
  'receipt.read': ReceiptData;
  'receipt.acknowledged': ReceiptData;
  /** `photo`: the evidence photo's reference (docs/media.md); `photoUrl` from clients before media. */
  'task.completed': ReceiptData & {
    /** The tablet's own note (no person signed in). */
    note?: string;
    /** A signed-in person's note: free text they wrote, sealed with their key (docs/privacy.md). */
    sealedNote?: SealedText;
    photoUrl?: string;
    photo?: MediaRef;
    attempt?: number;
  };
  'quiz.answered': ReceiptData & { answers: number[]; score: number };
  /**
   * One person's answers to a pulse survey (issue 21), anonymous: the store and the
   * answers only, no person and no terminal (the actor is `anonymous`), a random id, the
   * time rounded down to the hour, and written in shuffled batches so that their order
   * cannot be matched to sign-ins. `answers[i]` answers question i: a number on a scale,
   * an option's index, or a text.
   */
  'survey.answered': { storeId: string; communicationId: string; revision: number; answers: Array<number | string> };
  /** A store manager set a suggested task aside for their store, with why (issue 21). */
  'task.dismissed': TaskDecision & { reason: string };
  /** A store manager gave a suggested task to named staff of their store (issue 21). */
  'task.assigned': TaskDecision & { staffIds: string[] };
  'report.filed': {
    storeId: string;
    reportId: string;
    title: string;
    body: string;
    authorId: string;
    /** Photos and documents of the report (its store's media), in the order attached. */
    attachments?: MediaRef[];
  };
  'terminal.connected': { storeId: string; terminalId: string; gatewayId: string };
  'terminal.disconnected': { storeId: string; terminalId: string; gatewayId: string; reason: string };
}

/**
 * The envelope of a fact from a store (lastmeter.store-events.v1): not decided by an
 * aggregate, so it is its own aggregate (`aggregateId` = the fact's id, version 1), and
 * its id doubles as command, correlation and causation id.
 */
export function storeActivityEvent<T extends EventType>(
  type: T,
  id: string,
  actor: Actor,
  data: EventDataByType[T],
  occurredAt = new Date().toISOString(),
): DomainEvent<T> {
  return {
    id,
    type,
    schemaVersion: CURRENT_SCHEMA_VERSIONS[type],
    aggregateType: 'store-activity',
    aggregateId: id,
    aggregateVersion: 1,
    occurredAt,
    actor,
    commandId: id,
    correlationId: id,
    causationId: id,
    data,
  } as DomainEvent<T>;
}

/**
 * `JSON.stringify(storeActivityEvent(type, id, actor, data, occurredAt))`, the same
 * string, written directly: the gateway encodes one per fact, tens of thousands a
 * second, and the envelope's fixed parts need neither an object nor a walk over it.
 */
export function storeActivityJson<T extends EventType>(
  type: T,
  id: string,
  actor: Actor,
  data: EventDataByType[T],
  occurredAt: string = new Date().toISOString(),
): string {
  const quotedId = JSON.stringify(id);
  return (
    `{"id":${quotedId},"type":${JSON.stringify(type)},"schemaVersion":${JSON.stringify(CURRENT_SCHEMA_VERSIONS[type])},` +
    `"aggregateType":"store-activity","aggregateId":${quotedId},"aggregateVersion":1,` +
    `"occurredAt":${JSON.stringify(occurredAt)},"actor":${JSON.stringify(actor)},` +
    `"commandId":${quotedId},"correlationId":${quotedId},"causationId":${quotedId},"data":${JSON.stringify(data)}}`
  );
}
