import { ACTOR_ROLES, type TerminalRegistered } from '@lastmeter/contracts';
import type { TerminalCommand } from '../commands';
import { Conflict, Forbidden, NotFound, RuleViolation } from '../errors';
import { ACTORS, actorOf, at, contextOf, envelope, expectInvalid, expectRefused, given, NOW } from '../testing';
import { terminalDecider } from './terminal.decider';
import type { TerminalState } from './terminal.state';

const REGISTERED: TerminalRegistered = {
  storeId: 'store-1',
  name: 'Till 2',
  roles: ['cashier'],
  enrollmentExpiresAt: at(60),
};
/** The outstanding code of terminal-1, as lastmeter.credentials.v1 holds it. */
const CREDENTIALS = { enrollmentCodeHash: (id: string) => (id === 'terminal-1' ? 'hash-of-code' : undefined) };
const NO_CREDENTIALS = { enrollmentCodeHash: () => undefined };
const NEW = terminalDecider.initialState('terminal-1');
const state = (...more: Parameters<typeof envelope>[]) =>
  given(
    terminalDecider,
    [envelope('terminal.registered', REGISTERED), ...more.map((args) => envelope(...args))],
    'terminal-1',
  );
const REGISTERED_STATE = state();
const ENROLLED_STATE = state(['terminal.enrolled', { storeId: 'store-1' }]);
const REVOKED_STATE = state(['terminal.revoked', { storeId: 'store-1' }]);

const decide = (
  command: TerminalCommand,
  current: TerminalState,
  actor = ACTORS.admin,
  now = NOW,
  credentials = CREDENTIALS,
) => terminalDecider.decide(command, current, contextOf(actor, { now, credentials }));
const enroll = (enrollmentCodeHash = 'hash-of-code'): TerminalCommand => ({
  type: 'terminal.enroll',
  payload: { enrollmentCodeHash },
});
const REVOKE: TerminalCommand = { type: 'terminal.revoke', payload: { reason: 'stolen' } };
const BAD_CODE = 'enrollment code is invalid, used or expired';

describe('terminalDecider', () => {
  describe('import', () => {
    const importing = (roles: TerminalRegistered['roles'] = ['cashier']): TerminalCommand => ({
      type: 'terminal.import',
      payload: { storeId: 'store-1', name: 'Till 2', roles, enrollmentCodeHash: 'h', enrollmentExpiresAt: at(60) },
    });

    it('registers a new terminal', () => {
      expect(decide(importing(), NEW)).toEqual([{ type: 'terminal.registered', data: REGISTERED }]);
    });

    it('is nothing to do for an existing terminal with the same roles, whatever its status', () => {
      for (const current of [REGISTERED_STATE, ENROLLED_STATE, REVOKED_STATE]) {
        expect(decide(importing(['cashier']), current)).toEqual([]);
      }
    });

    it('refuses other roles for an existing terminal', () => {
      const error = expectRefused(() => decide(importing(['sales']), REGISTERED_STATE), Conflict);
      expect(error.message).toMatch(/exists with roles \[cashier\]/);
    });

    it('refuses an unknown store', () => {
      const command = importing();
      if (command.type === 'terminal.import') command.payload.storeId = 'nowhere';
      expectInvalid(() => decide(command, NEW), ['storeId']);
    });

    it('forbids anyone but hq-admin', () => {
      expectRefused(() => decide(importing(), NEW, ACTORS.editor), Forbidden);
      expectRefused(() => decide(importing(), REGISTERED_STATE, ACTORS.editor), Forbidden);
    });
  });

  describe('register', () => {
    const payload = { storeId: 'store-1', enrollmentCodeHash: 'h', enrollmentExpiresAt: at(60) };

    it('registers a terminal with its defaults', () => {
      expect(decide({ type: 'terminal.register', payload }, NEW)).toEqual([
        {
          type: 'terminal.registered',
          data: { storeId: 'store-1', enrollmentExpiresAt: at(60), name: 'Terminal', roles: [] },
        },
      ]);
    });

    it('keeps the given name and roles', () => {
      const command: TerminalCommand = {
        type: 'terminal.register',
        payload: { ...REGISTERED, enrollmentCodeHash: 'hash-of-code' },
      };
      expect(decide(command, NEW)[0].data).toEqual(REGISTERED);
    });

    it('keeps the code hash out of the event', () => {
      expect(decide({ type: 'terminal.register', payload }, NEW)[0].data).not.toHaveProperty('enrollmentCodeHash');
    });

    it('refuses a second registration', () => {
      expectRefused(() => decide({ type: 'terminal.register', payload }, REGISTERED_STATE), Conflict);
    });

    it('refuses an unknown store', () => {
      expectInvalid(
        () => decide({ type: 'terminal.register', payload: { ...payload, storeId: 'nope' } }, NEW),
        ['storeId'],
      );
    });

    it.each(ACTOR_ROLES.filter((role) => role !== 'hq-admin'))('forbids %s to register', (role) => {
      expectRefused(() => decide({ type: 'terminal.register', payload }, NEW, actorOf(role)), Forbidden);
    });
  });

  describe('enroll', () => {
    it('enrolls the device holding the code, up to its expiry', () => {
      for (const now of [NOW, new Date(REGISTERED.enrollmentExpiresAt)]) {
        expect(decide(enroll(), REGISTERED_STATE, ACTORS.terminal, now)).toEqual([
          { type: 'terminal.enrolled', data: { storeId: 'store-1' } },
        ]);
      }
    });

    it.each([
      ['a wrong code', REGISTERED_STATE, enroll('hash-of-another'), NOW],
      ['a code prefix', REGISTERED_STATE, enroll('hash-of'), NOW],
      ['an expired code', REGISTERED_STATE, enroll(), new Date(Date.parse(at(60)) + 1)],
      ['a used code', ENROLLED_STATE, enroll(), NOW],
      ['a revoked terminal', REVOKED_STATE, enroll(), NOW],
    ])('refuses %s with one message', (_name, current, command, now) => {
      const error = expectRefused(() => decide(command, current, ACTORS.terminal, now), RuleViolation);
      expect(error.message).toBe(BAD_CODE);
    });

    it('refuses a terminal that does not exist', () => {
      expectRefused(() => decide(enroll(), NEW, ACTORS.terminal), NotFound);
    });

    it('refuses when the credentials store has no code for the terminal (deleted or never migrated)', () => {
      const error = expectRefused(
        () => decide(enroll(), REGISTERED_STATE, ACTORS.terminal, NOW, NO_CREDENTIALS),
        RuleViolation,
      );
      expect(error.message).toBe(BAD_CODE);
    });
  });

  describe('revoke', () => {
    it.each([
      ['an enrolled', ENROLLED_STATE],
      ['a not yet enrolled', REGISTERED_STATE],
    ])('revokes %s terminal', (_name, current) => {
      expect(decide(REVOKE, current)).toEqual([
        { type: 'terminal.revoked', data: { storeId: 'store-1', reason: 'stolen' } },
      ]);
    });

    it('leaves an absent reason out', () => {
      expect(decide({ type: 'terminal.revoke', payload: {} }, ENROLLED_STATE)[0].data).toEqual({ storeId: 'store-1' });
    });

    it('refuses to revoke twice', () => {
      expectRefused(() => decide(REVOKE, REVOKED_STATE), RuleViolation);
    });

    it('refuses a terminal that does not exist', () => {
      expectRefused(() => decide(REVOKE, NEW), NotFound);
    });

    it.each(ACTOR_ROLES.filter((role) => role !== 'hq-admin'))('forbids %s to revoke', (role) => {
      expectRefused(() => decide(REVOKE, ENROLLED_STATE, actorOf(role)), Forbidden);
    });
  });

  it('evolves through registration, enrollment and revocation', () => {
    expect(REGISTERED_STATE).toEqual({ exists: true, id: 'terminal-1', status: 'registered', ...REGISTERED });
    expect(ENROLLED_STATE.status).toBe('enrolled');
    expect(state(['terminal.enrolled', { storeId: 'store-1' }], ['terminal.revoked', { storeId: 'store-1' }])).toEqual({
      ...REGISTERED_STATE,
      status: 'revoked',
    });
    expect(NEW).toMatchObject({ exists: false, status: 'none' });
  });
});
