import {
  openingHoursProblems,
  type DomainEvent,
  type EventDraft,
  type StoreRegistered,
  type StoreUpdated,
} from '@lastmeter/contracts';
import { requireRole } from '../access';
import type { StoreCommand } from '../commands';
import type { DecideContext, Decider } from '../decider';
import { Conflict, InvalidCommand, NotFound } from '../errors';
import { changedFields, withoutUndefined } from '../values';
import { initialStoreState, type StoreState } from './store.state';

const UPDATABLE = ['name', 'regionId', 'tags', 'locale', 'timezone', 'openingHours'] as const;

/** Opening hours are checked here too: an import or any other path cannot store bad ones. */
function requireValidHours(openingHours: unknown): void {
  if (openingHours === undefined) return;
  const problems = openingHoursProblems(openingHours);
  if (problems.length > 0) throw new InvalidCommand({ openingHours: problems });
}

function requireKnownRegion(regionId: string, context: DecideContext): void {
  if (!context.directory.regionExists(regionId)) throw new InvalidCommand({ regionId: [`unknown region ${regionId}`] });
}

type StorePayload = Extract<StoreCommand, { type: 'store.register' }>['payload'];

function register(payload: StorePayload, state: StoreState, context: DecideContext): EventDraft[] {
  if (state.exists) throw new Conflict(`store ${state.id} already exists`);
  requireKnownRegion(payload.regionId, context);
  requireValidHours(payload.openingHours);
  const data: StoreRegistered = {
    code: payload.code,
    name: payload.name,
    regionId: payload.regionId,
    tags: payload.tags ?? [],
    locale: payload.locale ?? 'en',
    timezone: payload.timezone ?? 'UTC',
    ...(payload.openingHours ? { openingHours: payload.openingHours } : {}),
  };
  return [{ type: 'store.registered', data }];
}

function update(payload: StoreUpdated, state: StoreState, context: DecideContext): EventDraft[] {
  if (!state.exists) throw new NotFound(`store ${state.id} not found`);
  requireValidHours(payload.openingHours);
  const changes: StoreUpdated = changedFields(state, withoutUndefined(payload), UPDATABLE);
  if (Object.keys(changes).length === 0) throw new InvalidCommand({ body: ['nothing to update'] });
  if (changes.regionId !== undefined) requireKnownRegion(changes.regionId, context);
  return [{ type: 'store.updated', data: changes }];
}

/**
 * Import: a new store is registered; an existing one takes the fields the row gives (the
 * file is the source of truth for what it names; a field left out keeps its value), as
 * one `store.updated` with what changed, or nothing when nothing did. The code is the
 * natural key and never changes.
 */
function importStore(payload: StorePayload, state: StoreState, context: DecideContext): EventDraft[] {
  if (!state.exists) return register(payload, state, context);
  const { code: _code, ...fields } = payload;
  requireValidHours(fields.openingHours);
  const changes: StoreUpdated = changedFields(state, withoutUndefined(fields), UPDATABLE);
  if (Object.keys(changes).length === 0) return [];
  if (changes.regionId !== undefined) requireKnownRegion(changes.regionId, context);
  return [{ type: 'store.updated', data: changes }];
}

export const storeDecider: Decider<StoreState, StoreCommand> = {
  aggregateType: 'store',
  initialState: initialStoreState,
  decide(command, state, context) {
    switch (command.type) {
      case 'store.register':
        requireRole(context.actor, ['hq-admin'], 'register a store');
        return register(command.payload, state, context);
      case 'store.update':
        requireRole(context.actor, ['hq-admin'], 'update a store');
        return update(command.payload, state, context);
      case 'store.import':
        requireRole(context.actor, ['hq-admin'], 'import a store');
        return importStore(command.payload, state, context);
    }
  },
  evolve(state: StoreState, event: DomainEvent): StoreState {
    switch (event.type) {
      case 'store.registered':
        return { ...state, exists: true, ...event.data };
      case 'store.updated':
        return { ...state, ...withoutUndefined(event.data) };
      default:
        return state;
    }
  },
};
