import { ACTOR_ROLES, USER_ROLES, type UserRole } from '@lastmeter/contracts';
import type { UserCommand } from '../commands';
import { Conflict, Forbidden, NotFound, RuleViolation } from '../errors';
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
const EDITOR = given(userDecider, [envelope('user.created', { username: 'marie', role: 'hq-editor' })], 'user-1');
const DISABLED = given(
  userDecider,
  [envelope('user.created', { username: 'marie', role: 'hq-editor' }), envelope('user.disabled', {})],
  'user-1',
);
const marie = actorOf('hq-editor', 'user-1');

describe('userDecider', () => {
  describe('create', () => {
    it('creates a store manager bound to a store, without the password hash in the event', () => {
      expect(decide(create('store-manager', 'store-1'))).toEqual([
        { type: 'user.created', data: { username: 'marie', role: 'store-manager', storeId: 'store-1' } },
      ]);
    });

    it.each(USER_ROLES.filter((role) => role !== 'store-manager'))('creates a %s without a store', (role) => {
      const [event] = decide(create(role));
      expect(event).toEqual({ type: 'user.created', data: { username: 'marie', role } });
    });

    it.each(ACTOR_ROLES.filter((role) => role !== 'hq-admin'))('forbids %s to create a user', (role) => {
      expectRefused(() => decide(create('analyst'), NEW, actorOf(role)), Forbidden);
    });

    it('refuses a username that is taken', () => {
      const error = expectRefused(() => decide(create('analyst'), EDITOR), Conflict);
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
  });

  describe('disable and enable', () => {
    it('disables and enables again', () => {
      expect(decide({ type: 'user.disable', payload: { reason: 'left' } }, EDITOR)).toEqual([
        { type: 'user.disabled', data: { reason: 'left' } },
      ]);
      expect(decide({ type: 'user.enable', payload: {} }, DISABLED)).toEqual([{ type: 'user.enabled', data: {} }]);
    });

    it.each(ACTOR_ROLES.filter((role) => role !== 'hq-admin'))('forbids %s to disable', (role) => {
      expectRefused(() => decide({ type: 'user.disable', payload: {} }, EDITOR, actorOf(role)), Forbidden);
    });

    it('refuses to disable twice, to enable an enabled user, and an unknown user', () => {
      expectRefused(() => decide({ type: 'user.disable', payload: {} }, DISABLED), RuleViolation);
      expectRefused(() => decide({ type: 'user.enable', payload: {} }, EDITOR), RuleViolation);
      expectRefused(() => decide({ type: 'user.disable', payload: {} }, NEW), NotFound);
    });

    it('refuses an admin disabling their own account', () => {
      const admin = given(userDecider, [envelope('user.created', { username: 'a', role: 'hq-admin' })], 'user-1');
      expectRefused(
        () => decide({ type: 'user.disable', payload: {} }, admin, actorOf('hq-admin', 'user-1')),
        RuleViolation,
      );
    });
  });

  describe('passwords', () => {
    it('records that a password was set, never the hash', () => {
      expect(decide({ type: 'user.set-password', payload: { passwordHash: HASH, by: 'admin' } }, EDITOR)).toEqual([
        { type: 'user.password-set', data: { by: 'admin' } },
      ]);
      expect(decide({ type: 'user.set-password', payload: { passwordHash: HASH, by: 'self' } }, EDITOR, marie)).toEqual(
        [{ type: 'user.password-set', data: { by: 'self' } }],
      );
    });

    it('lets only an hq-admin reset and only the user change their own', () => {
      expectRefused(
        () => decide({ type: 'user.set-password', payload: { passwordHash: HASH, by: 'admin' } }, EDITOR, marie),
        Forbidden,
      );
      expectRefused(
        () => decide({ type: 'user.set-password', payload: { passwordHash: HASH, by: 'self' } }, EDITOR, ACTORS.admin),
        Forbidden,
      );
    });

    it('refuses a disabled user', () => {
      expectRefused(
        () => decide({ type: 'user.set-password', payload: { passwordHash: HASH, by: 'admin' } }, DISABLED),
        RuleViolation,
      );
    });
  });

  describe('roles', () => {
    it('changes the role, with a store for a store manager', () => {
      expect(
        decide({ type: 'user.change-role', payload: { role: 'store-manager', storeId: 'store-2' } }, EDITOR),
      ).toEqual([{ type: 'user.role-changed', data: { role: 'store-manager', storeId: 'store-2' } }]);
      expectInvalid(
        () => decide({ type: 'user.change-role', payload: { role: 'store-manager' } }, EDITOR),
        ['storeId'],
      );
      expectRefused(() => decide({ type: 'user.change-role', payload: { role: 'hq-editor' } }, EDITOR), RuleViolation);
      expectRefused(
        () => decide({ type: 'user.change-role', payload: { role: 'hq-admin' } }, EDITOR, marie),
        Forbidden,
      );
    });
  });

  it('evolves: every change that must end old tokens bumps the session version', () => {
    const events = [
      envelope('user.created', { username: 'marie', role: 'store-manager', storeId: 'store-1' }),
      envelope('user.password-set', { by: 'admin' }),
      envelope('user.role-changed', { role: 'analyst' }),
      envelope('user.disabled', {}),
      envelope('user.enabled', {}),
    ];
    const states = events.map((_, i) => given(userDecider, events.slice(0, i + 1), 'user-1'));
    expect(states.map((s) => [s.role, s.storeId, s.disabled, s.sessionVersion])).toEqual([
      ['store-manager', 'store-1', false, 0],
      ['store-manager', 'store-1', false, 1],
      ['analyst', undefined, false, 2],
      ['analyst', undefined, true, 3],
      ['analyst', undefined, false, 3],
    ]);
    expect(states[2]).not.toHaveProperty('storeId');
    expect(NEW).toEqual({ exists: false, id: 'user-1', username: '', role: null, disabled: false, sessionVersion: 0 });
  });
});
