import type { DomainEvent, UserCreated } from '@lastmeter/contracts';
import { requireRole } from '../access';
import type { UserCommand } from '../commands';
import type { Decider } from '../decider';
import { Conflict, InvalidCommand } from '../errors';
import { withoutUndefined } from '../values';
import { initialUserState, type UserState } from './user.state';

export const userDecider: Decider<UserState, UserCommand> = {
  aggregateType: 'user',
  initialState: initialUserState,
  decide(command, state, { actor, directory }) {
    requireRole(actor, ['hq-admin'], 'create a user');
    if (state.exists) throw new Conflict('username already taken');
    const { username, role, storeId, passwordHash } = command.payload;
    // A store-manager's token is scoped to one store; every other role is not store-bound.
    if (role === 'store-manager' && storeId === undefined) {
      throw new InvalidCommand({ storeId: ['is required for a store-manager'] });
    }
    if (role !== 'store-manager' && storeId !== undefined) {
      throw new InvalidCommand({ storeId: [`must not be set for a ${role}`] });
    }
    if (storeId !== undefined && !directory.storeExists(storeId)) {
      throw new InvalidCommand({ storeId: [`unknown store ${storeId}`] });
    }
    const data: UserCreated = withoutUndefined({ username, role, storeId, passwordHash });
    return [{ type: 'user.created', data }];
  },
  evolve(state: UserState, event: DomainEvent): UserState {
    if (event.type !== 'user.created') return state;
    const { username, role, storeId } = event.data;
    return withoutUndefined({ ...state, exists: true, username, role, storeId });
  },
};
