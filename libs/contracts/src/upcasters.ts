import type { EventEnvelope } from './event-envelope';
import { CURRENT_SCHEMA_VERSIONS, isEventType, type DomainEvent, type EventType } from './event-types';
import type { Audience, CommunicationDrafted } from './events/communication';

/** Turns the data of schemaVersion n into schemaVersion n + 1. */
export type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

/**
 * `communication.drafted` v1 (before 2026-11): the text was `text`, the audience one
 * scope with ids, priority optional, no revision number.
 */
export interface CommunicationDraftedV1 {
  kind: CommunicationDrafted['kind'];
  title: string;
  text: string;
  priority?: 'normal' | 'urgent';
  audience: { scope: 'all' | 'regions' | 'stores'; ids?: string[] };
  dueAt?: string;
}

function communicationDraftedV1toV2(data: Record<string, unknown>): Record<string, unknown> {
  const v1 = data as unknown as CommunicationDraftedV1;
  const audience: Audience =
    v1.audience.scope === 'all'
      ? { all: true }
      : v1.audience.scope === 'regions'
        ? { regionIds: v1.audience.ids ?? [] }
        : { storeIds: v1.audience.ids ?? [] };
  const v2: CommunicationDrafted = {
    kind: v1.kind,
    title: v1.title,
    body: v1.text,
    priority: v1.priority ?? 'normal',
    audience,
    ...(v1.dueAt ? { dueAt: v1.dueAt } : {}),
    revision: 1,
  };
  return v2 as unknown as Record<string, unknown>;
}

/**
 * Credential material never leaves through a read path: v1 `user.created` carried the
 * password hash and v1 `terminal.registered` the enrollment code's hash. v2 moved them to
 * lastmeter.credentials.v1; reading a v1 event drops the field (`lastmeter credentials
 * migrate` copies old hashes to the new topic first). See docs/security.md.
 */
function without(field: string): Upcaster {
  return (data) => {
    const { [field]: _secret, ...rest } = data;
    return rest;
  };
}

/** Per event type, per old schemaVersion: the step to the next version. */
export const UPCASTERS: Partial<Record<EventType, Record<number, Upcaster>>> = {
  'communication.drafted': { 1: communicationDraftedV1toV2 },
  'user.created': { 1: without('passwordHash') },
  'terminal.registered': { 1: without('enrollmentCodeHash') },
};

export class UpcastError extends Error {
  override name = 'UpcastError';
}

/** Brings any stored event to the current schema of its type. Pure; never mutates. */
export function upcast(envelope: EventEnvelope): DomainEvent {
  if (!isEventType(envelope.type)) throw new UpcastError(`unknown event type "${envelope.type}"`);
  const current = CURRENT_SCHEMA_VERSIONS[envelope.type];
  if (envelope.schemaVersion > current) {
    throw new UpcastError(`${envelope.type} v${envelope.schemaVersion} is newer than this build knows (v${current})`);
  }
  let data = envelope.data as Record<string, unknown>;
  for (let version = envelope.schemaVersion; version < current; version++) {
    const step = UPCASTERS[envelope.type]?.[version];
    if (!step) throw new UpcastError(`no upcaster for ${envelope.type} v${version} → v${version + 1}`);
    data = step(data);
  }
  return { ...envelope, schemaVersion: current, data } as DomainEvent;
}
