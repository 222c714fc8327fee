import { ACTOR_ROLES, USER_ROLES, type UserRole } from '@lastmeter/contracts';
import type { UserCommand } from '../commands';
import { Conflict, Forbidden } from '../errors';
import { ACTORS, actorOf, contextOf, envelope, expectInvalid, expectRefused, given } from '../testing';
import { userDecider } from './user.decider';
import type { UserState } from './user.state';

const HASH = 'scrypt$16384$8$1$salt$hash';
const create = (role: UserRole, storeId?: string): UserCommand => ({
  type: 'user.create',
  payload: { username: 'marie', role, storeId, passwordHash: HASH },
});
const NEW = userDecider.initialState('user-1');
const decide = (command: UserCommand, state: UserState = NEW, actor = ACTORS.admin) =>
  userDecider.decide(command, state, contextOf(actor));

describe('userDecider', () => {
  it('creates a store manager bound to a store', () => {
    expect(decide(create('store-manager', 'store-1'))).toEqual([
      {
        type: 'user.created',
        data: { username: 'marie', role: 'store-manager', storeId: 'store-1', passwordHash: HASH },
      },
    ]);
  });

  it.each(USER_ROLES.filter((role) => role !== 'store-manager'))('creates a %s without a store', (role) => {
    const [event] = decide(create(role));
    expect(event).toEqual({ type: 'user.created', data: { username: 'marie', role, passwordHash: HASH } });
    expect(event.data).not.toHaveProperty('storeId');
  });

  it.each(ACTOR_ROLES.filter((role) => role !== 'hq-admin'))('forbids %s to create a user', (role) => {
    expectRefused(() => decide(create('analyst'), NEW, actorOf(role)), Forbidden);
  });

  it('refuses a username that is taken', () => {
    const taken = given(
      userDecider,
      [envelope('user.created', { username: 'marie', role: 'analyst', passwordHash: HASH })],
      'user-1',
    );
    const error = expectRefused(() => decide(create('analyst'), taken), Conflict);
    expect(error.message).toBe('username already taken');
  });

  it('requires a store for a store manager', () => {
    expectInvalid(() => decide(create('store-manager')), ['storeId']);
  });

  it.each(USER_ROLES.filter((role) => role !== 'store-manager'))('refuses a store on a %s', (role) => {
    expectInvalid(() => decide(create(role, 'store-1')), ['storeId']);
  });

  it('refuses an unknown store', () => {
    expectInvalid(() => decide(create('store-manager', 'store-x')), ['storeId']);
  });

  it('evolves from created', () => {
    const manager = given(
      userDecider,
      [envelope('user.created', { username: 'marie', role: 'store-manager', storeId: 'store-1', passwordHash: HASH })],
      'user-1',
    );
    expect(manager).toEqual({
      exists: true,
      id: 'user-1',
      username: 'marie',
      role: 'store-manager',
      storeId: 'store-1',
    });
    const analyst = given(userDecider, [
      envelope('user.created', { username: 'a', role: 'analyst', passwordHash: HASH }),
    ]);
    expect(analyst).not.toHaveProperty('storeId');
    expect(NEW).toEqual({ exists: false, id: 'user-1', username: '', role: null });
  });
});
