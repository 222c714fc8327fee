import type { DomainEvent, EventDraft, StaffUpdated } from '@lastmeter/contracts';
import type { StaffCommand } from '../commands';
import type { DecideContext, Decider } from '../decider';
import { Conflict, Forbidden, InvalidCommand, NotFound, RuleViolation } from '../errors';
import { sameValue, withoutUndefined } from '../values';
import { initialStaffState, type StaffState } from './staff.state';

/**
 * Who manages a store's roster: an hq-admin for every store, a store-manager for their own
 * store only (issue 21). Everyone else, and a manager of another store, is refused.
 */
function requireRosterManager(storeId: string, context: DecideContext, what: string): void {
  const { actor } = context;
  if (actor.role === 'hq-admin') return;
  if (actor.role === 'store-manager' && actor.storeId === storeId) return;
  throw new Forbidden(`${actor.role} may not ${what} of store ${storeId}`);
}

function requireStaff(state: StaffState): void {
  if (!state.exists) throw new NotFound(`staff member ${state.id} not found`);
}

function requireActive(state: StaffState): void {
  if (state.status !== 'active') throw new RuleViolation(`the staff member is ${state.status}`);
}

const sorted = <T extends string>(roles: readonly T[]): T[] => [...new Set(roles)].sort();

function decide(command: StaffCommand, state: StaffState, context: DecideContext): EventDraft[] {
  switch (command.type) {
    case 'staff.add': {
      const { storeId, name, roles } = command.payload;
      requireRosterManager(storeId, context, 'add staff');
      if (state.exists) throw new Conflict(`staff member ${state.id} already exists`);
      if (!context.directory.storeExists(storeId)) throw new InvalidCommand({ storeId: [`unknown store ${storeId}`] });
      return [{ type: 'staff.added', data: { storeId, name, roles: sorted(roles) } }];
    }
    case 'staff.import': {
      const { storeId, name, roles, pinHash } = command.payload;
      if (!state.exists) {
        if (!name || !pinHash) throw new InvalidCommand({ pin: ['is required for a new person'] });
        return decide({ type: 'staff.add', payload: { storeId, name, roles, pinHash } }, state, context);
      }
      if (state.storeId !== storeId) throw new Conflict(`staff member ${state.id} belongs to another store`);
      return decide({ type: 'staff.update', payload: { name, roles, pinHash } }, state, context);
    }
    case 'staff.update': {
      requireStaff(state);
      requireRosterManager(state.storeId, context, 'edit staff');
      requireActive(state);
      const { name, roles, pinHash } = command.payload;
      const change: StaffUpdated = withoutUndefined({
        storeId: state.storeId,
        // A sealed name is new bytes every time (a fresh nonce): the HTTP layer only sends one that changed.
        name,
        roles: roles && !sameValue(sorted(roles), state.roles) ? sorted(roles) : undefined,
        pinChanged: pinHash ? (true as const) : undefined,
      });
      if (Object.keys(change).length === 1) return [];
      return [{ type: 'staff.updated', data: change }];
    }
    case 'staff.remove': {
      requireStaff(state);
      requireRosterManager(state.storeId, context, 'remove staff');
      requireActive(state);
      return [
        { type: 'staff.removed', data: withoutUndefined({ storeId: state.storeId, reason: command.payload.reason }) },
      ];
    }
    case 'staff.erase': {
      // Erasure is head office's decision (the controller of the data), not a store's.
      if (context.actor.role !== 'hq-admin') throw new Forbidden(`${context.actor.role} may not erase personal data`);
      requireStaff(state);
      if (state.status === 'erased') throw new RuleViolation("the staff member's personal data is already erased");
      return [{ type: 'staff.erased', data: { storeId: state.storeId } }];
    }
  }
}

export const staffDecider: Decider<StaffState, StaffCommand> = {
  aggregateType: 'staff',
  initialState: initialStaffState,
  decide,
  evolve(state: StaffState, event: DomainEvent): StaffState {
    switch (event.type) {
      case 'staff.added':
        return { ...state, exists: true, status: 'active', ...event.data };
      case 'staff.updated': {
        const { name, roles } = event.data;
        return withoutUndefined({ ...state, name: name ?? state.name, roles: roles ?? state.roles });
      }
      case 'staff.removed':
        return { ...state, status: 'removed' };
      case 'staff.erased': {
        const { name: _gone, ...rest } = state;
        return { ...rest, status: 'erased' };
      }
      default:
        return state;
    }
  },
};
