/**
 * Test fixtures for the deciders (spec files only; not exported from the library):
 * fixed clock, actors of every role, a directory from sets, and full event envelopes.
 */
import { aggregateTypeOf } from '@lastmeter/contracts';
import type { Actor, ActorRole, DomainEvent, EventDataByType, EventDraft, EventType } from '@lastmeter/contracts';
import type { Command, DecideContext, Decider, DirectoryView } from './decider';
import { Conflict, DomainError, Forbidden, InvalidCommand, NotFound, RuleViolation } from './errors';

export const NOW = new Date('2026-11-23T09:00:00Z');

/** An ISO timestamp `minutes` from NOW (negative for the past). */
export function at(minutes: number): string {
  return new Date(NOW.getTime() + minutes * 60_000).toISOString();
}

export function actorOf(role: ActorRole, id = `${role}-1`): Actor {
  return role === 'store-manager' || role === 'terminal' ? { id, role, storeId: 'store-1' } : { id, role };
}

export const ACTORS = {
  admin: actorOf('hq-admin'),
  editor: actorOf('hq-editor'),
  agency: actorOf('agency'),
  manager: actorOf('store-manager'),
  analyst: actorOf('analyst'),
  terminal: actorOf('terminal'),
  system: { id: 'lastmeter-scheduler', role: 'system' } as Actor,
};

export function directoryOf(known: { regions?: Iterable<string>; stores?: Iterable<string> } = {}): DirectoryView {
  const regions = new Set(known.regions ?? ['region-north', 'region-south']);
  const stores = new Set(known.stores ?? ['store-1', 'store-2']);
  return { regionExists: (id) => regions.has(id), storeExists: (id) => stores.has(id) };
}

export function contextOf(actor: Actor, overrides: Partial<DecideContext> = {}): DecideContext {
  return { actor, now: NOW, directory: directoryOf(), ...overrides };
}

/** A complete envelope around `data`, with fixed ids and timestamps. */
export function envelope<T extends EventType>(
  type: T,
  data: EventDataByType[T],
  options: { actor?: Actor; version?: number; aggregateId?: string; occurredAt?: string } = {},
): DomainEvent<T> {
  const version = options.version ?? 1;
  return {
    id: `00000000-0000-4000-8000-${String(version).padStart(12, '0')}`,
    type,
    schemaVersion: 1,
    aggregateType: aggregateTypeOf(type),
    aggregateId: options.aggregateId ?? 'aggregate-1',
    aggregateVersion: version,
    occurredAt: options.occurredAt ?? NOW.toISOString(),
    actor: options.actor ?? ACTORS.admin,
    commandId: 'command-1',
    correlationId: 'correlation-1',
    causationId: 'command-1',
    data,
  } as DomainEvent<T>;
}

/** Folds events into the decider's initial state, numbering versions from 1. */
export function given<S>(decider: Decider<S, Command>, events: DomainEvent[], id = 'aggregate-1'): S {
  return events.reduce(
    (state, event, i) => decider.evolve(state, { ...event, aggregateId: id, aggregateVersion: i + 1 }),
    decider.initialState(id),
  );
}

/** Folds the drafts a decide returned, as the runner would after appending them. */
export function applyDrafts<S>(decider: Decider<S, Command>, state: S, drafts: EventDraft[], actor: Actor): S {
  return drafts.reduce(
    (next, draft) => decider.evolve(next, envelope(draft.type as EventType, draft.data as never, { actor })),
    state,
  );
}

type RefusalClass<E extends DomainError> = abstract new (...args: never[]) => E;

/** The HTTP status each refusal must carry, stated here rather than read from the error. */
const EXPECTED_STATUS = new Map<RefusalClass<DomainError>, number>([
  [InvalidCommand, 400],
  [Forbidden, 403],
  [NotFound, 404],
  [Conflict, 409],
  [RuleViolation, 422],
]);

/** Runs `act`, asserts it throws `kind` with its status, and returns the error for more checks. */
export function expectRefused<E extends DomainError>(act: () => unknown, kind: RefusalClass<E>): E {
  let thrown: unknown;
  try {
    act();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(kind);
  expect((thrown as DomainError).status).toBe(EXPECTED_STATUS.get(kind));
  return thrown as E;
}

/** Asserts an InvalidCommand naming exactly `fields` (sorted comparison). */
export function expectInvalid(act: () => unknown, fields: string[]): InvalidCommand {
  const error = expectRefused(act, InvalidCommand);
  expect(Object.keys(error.fields).sort()).toEqual([...fields].sort());
  return error;
}
