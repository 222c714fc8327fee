import type { AnyCommand } from './commands';
import { credentialChanges } from './credentials';

const NOW = '2026-11-30T09:00:00.000Z';
const EVENT = [{ type: 'user.created' as const, data: { username: 'marie', role: 'analyst' as const } }];

describe('credentialChanges', () => {
  it('moves a new password hash to the credentials topic, keyed by the user', () => {
    const command: AnyCommand = {
      type: 'user.create',
      payload: { username: 'marie', role: 'analyst', passwordHash: 'scrypt$h' },
    };
    expect(credentialChanges(command, 'user-1', EVENT, NOW)).toEqual([
      { id: 'user-1', record: { kind: 'password', userId: 'user-1', passwordHash: 'scrypt$h', setAt: NOW } },
    ]);
  });

  it('keeps an enrollment code until it is redeemed or the terminal revoked', () => {
    const register: AnyCommand = {
      type: 'terminal.register',
      payload: { storeId: 's', enrollmentCodeHash: 'c', enrollmentExpiresAt: NOW },
    };
    expect(credentialChanges(register, 't-1', [{ type: 'terminal.registered', data: {} }], NOW)).toEqual([
      { id: 't-1', record: { kind: 'enrollment-code', terminalId: 't-1', codeHash: 'c', expiresAt: NOW } },
    ]);
    const enroll: AnyCommand = { type: 'terminal.enroll', payload: { enrollmentCodeHash: 'c' } };
    const revoke: AnyCommand = { type: 'terminal.revoke', payload: {} };
    for (const command of [enroll, revoke]) {
      expect(credentialChanges(command, 't-1', [{ type: 'terminal.enrolled', data: {} }], NOW)).toEqual([
        { id: 't-1', record: null },
      ]);
    }
  });

  it('keeps the code of an imported terminal, and nothing when the import found it already there', () => {
    const imported: AnyCommand = {
      type: 'terminal.import',
      payload: { storeId: 's', name: 'Till 1', roles: [], enrollmentCodeHash: 'c', enrollmentExpiresAt: NOW },
    };
    expect(credentialChanges(imported, 't-1', [{ type: 'terminal.registered', data: {} }], NOW)).toEqual([
      { id: 't-1', record: { kind: 'enrollment-code', terminalId: 't-1', codeHash: 'c', expiresAt: NOW } },
    ]);
    expect(credentialChanges(imported, 't-1', [], NOW)).toEqual([]);
  });

  it('changes nothing for a refused command or one without secrets', () => {
    const command: AnyCommand = { type: 'user.set-password', payload: { passwordHash: 'x', by: 'admin' } };
    expect(credentialChanges(command, 'user-1', [], NOW)).toEqual([]);
    expect(credentialChanges({ type: 'user.disable', payload: {} }, 'user-1', EVENT, NOW)).toEqual([]);
  });
});
