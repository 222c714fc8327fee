import type { DomainEvent, EventDraft, UserCreated, UserRole } from '@lastmeter/contracts';
import { requireRole } from '../access';
import type { UserCommand } from '../commands';
import type { Decider, DecideContext } from '../decider';
import { Conflict, Forbidden, InvalidCommand, NotFound, RuleViolation } from '../errors';
import { withoutUndefined } from '../values';
import { initialUserState, type UserState } from './user.state';

/** A store-manager's token is scoped to one store; every other role is not store-bound. */
function checkStore(role: UserRole, storeId: string | undefined, context: DecideContext): void {
  if (role === 'store-manager' && storeId === undefined) {
    throw new InvalidCommand({ storeId: ['is required for a store-manager'] });
  }
  if (role !== 'store-manager' && storeId !== undefined) {
    throw new InvalidCommand({ storeId: [`must not be set for a ${role}`] });
  }
  if (storeId !== undefined && !context.directory.storeExists(storeId)) {
    throw new InvalidCommand({ storeId: [`unknown store ${storeId}`] });
  }
}

function requireUser(state: UserState): void {
  if (!state.exists) throw new NotFound(`user ${state.id} not found`);
}

/** An admin may not lock themselves out (another admin, or the configured one, can). */
function notSelf(state: UserState, context: DecideContext, what: string): void {
  if (context.actor.id === state.id) throw new RuleViolation(`an hq-admin may not ${what} their own account`);
}

function decide(command: UserCommand, state: UserState, context: DecideContext): EventDraft[] {
  switch (command.type) {
    case 'user.create': {
      requireRole(context.actor, ['hq-admin'], 'create a user');
      if (state.exists) throw new Conflict('username already taken');
      const { username, role, storeId } = command.payload;
      checkStore(role, storeId, context);
      const data: UserCreated = withoutUndefined({ username, role, storeId });
      return [{ type: 'user.created', data }];
    }
    case 'user.set-password': {
      requireUser(state);
      const self = command.payload.by === 'self';
      // Self-service is checked against the current password by the HTTP layer; here the
      // rule is who may ask at all.
      if (self ? context.actor.id !== state.id : context.actor.role !== 'hq-admin') {
        throw new Forbidden(`${context.actor.role} may not set this user's password`);
      }
      if (state.disabled) throw new RuleViolation('the user is disabled');
      return [{ type: 'user.password-set', data: { by: command.payload.by } }];
    }
    case 'user.disable': {
      requireRole(context.actor, ['hq-admin'], 'disable a user');
      requireUser(state);
      notSelf(state, context, 'disable');
      if (state.disabled) throw new RuleViolation('the user is already disabled');
      return [{ type: 'user.disabled', data: withoutUndefined({ reason: command.payload.reason }) }];
    }
    case 'user.enable': {
      requireRole(context.actor, ['hq-admin'], 'enable a user');
      requireUser(state);
      if (!state.disabled) throw new RuleViolation('the user is not disabled');
      return [{ type: 'user.enabled', data: {} }];
    }
    case 'user.change-role': {
      requireRole(context.actor, ['hq-admin'], "change a user's role");
      requireUser(state);
      notSelf(state, context, 'change the role of');
      const { role, storeId } = command.payload;
      checkStore(role, storeId, context);
      if (role === state.role && storeId === state.storeId) throw new RuleViolation(`the user is already a ${role}`);
      return [{ type: 'user.role-changed', data: withoutUndefined({ role, storeId }) }];
    }
  }
}

export const userDecider: Decider<UserState, UserCommand> = {
  aggregateType: 'user',
  initialState: initialUserState,
  decide,
  evolve(state: UserState, event: DomainEvent): UserState {
    switch (event.type) {
      case 'user.created': {
        const { username, role, storeId } = event.data;
        return withoutUndefined({ ...state, exists: true, username, role, storeId });
      }
      case 'user.password-set':
        return { ...state, sessionVersion: state.sessionVersion + 1 };
      case 'user.disabled':
        return { ...state, disabled: true, sessionVersion: state.sessionVersion + 1 };
      case 'user.enabled':
        return { ...state, disabled: false };
      case 'user.role-changed': {
        const { storeId: _old, ...rest } = state;
        return withoutUndefined({
          ...rest,
          role: event.data.role,
          storeId: event.data.storeId,
          sessionVersion: state.sessionVersion + 1,
        });
      }
      default:
        return state;
    }
  },
};
