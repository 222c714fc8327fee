import type { DomainEvent, EventDraft, StoreRegistered, StoreUpdated } from '@lastmeter/contracts';
import { requireRole } from '../access';
import type { StoreCommand } from '../commands';
import type { DecideContext, Decider } from '../decider';
import { Conflict, InvalidCommand, NotFound } from '../errors';
import { changedFields, withoutUndefined } from '../values';
import { initialStoreState, type StoreState } from './store.state';

const UPDATABLE = ['name', 'regionId', 'tags', 'locale', 'timezone'] as const;

function requireKnownRegion(regionId: string, context: DecideContext): void {
  if (!context.directory.regionExists(regionId)) throw new InvalidCommand({ regionId: [`unknown region ${regionId}`] });
}

function register(
  payload: Extract<StoreCommand, { type: 'store.register' }>['payload'],
  state: StoreState,
  context: DecideContext,
): EventDraft[] {
  if (state.exists) throw new Conflict(`store ${state.id} already exists`);
  requireKnownRegion(payload.regionId, context);
  const data: StoreRegistered = {
    code: payload.code,
    name: payload.name,
    regionId: payload.regionId,
    tags: payload.tags ?? [],
    locale: payload.locale ?? 'en',
    timezone: payload.timezone ?? 'UTC',
  };
  return [{ type: 'store.registered', data }];
}

function update(payload: StoreUpdated, state: StoreState, context: DecideContext): EventDraft[] {
  if (!state.exists) throw new NotFound(`store ${state.id} not found`);
  const changes: StoreUpdated = changedFields(state, withoutUndefined(payload), UPDATABLE);
  if (Object.keys(changes).length === 0) throw new InvalidCommand({ body: ['nothing to update'] });
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
