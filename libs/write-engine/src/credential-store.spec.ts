import { createHash } from 'node:crypto';
import { CredentialStore } from './credential-store';

const password = (userId: string, passwordHash: string) => ({
  id: userId,
  record: { kind: 'password' as const, userId, passwordHash, setAt: '2026-01-01T00:00:00Z' },
});
const code = (terminalId: string, codeHash: string) => ({
  id: terminalId,
  record: { kind: 'enrollment-code' as const, terminalId, codeHash, expiresAt: '2026-01-02T00:00:00Z' },
});

describe('CredentialStore', () => {
  it('keeps the latest password hash of each user', () => {
    const store = new CredentialStore();
    store.apply(password('u1', 'scrypt$first'));
    store.apply(password('u1', 'scrypt$second'));
    expect(store.passwordHashOf('u1')).toBe('scrypt$second');
    expect(store.passwordHashOf('u2')).toBeUndefined();
  });

  it('finds an outstanding enrollment code by terminal and by its hash', () => {
    const store = new CredentialStore();
    store.apply(code('t1', 'sha$abc'));
    expect(store.enrollmentCodeHash('t1')).toBe('sha$abc');
    expect(store.terminalIdByCode('sha$abc')).toBe('t1');
  });

  it('answers a SHA-256 hex hash exactly as it was given (it is held as 32 bytes)', () => {
    const store = new CredentialStore();
    const hash = createHash('sha256').update('ABCD-EFGH').digest('hex');
    const other = createHash('sha256').update('ABCD-EFGI').digest('hex');
    store.apply(code('t1', hash));
    expect(store.enrollmentCodeHash('t1')).toBe(hash);
    expect(store.terminalIdByCode(hash)).toBe('t1');
    expect(store.terminalIdByCode(other)).toBeUndefined();
    expect(store.terminalIdByCode(hash.toUpperCase())).toBeUndefined();
  });

  it('forgets the old hash when a terminal gets a new code', () => {
    const store = new CredentialStore();
    store.apply(code('t1', 'sha$old'));
    store.apply(code('t1', 'sha$new'));
    expect(store.terminalIdByCode('sha$old')).toBeUndefined();
    expect(store.terminalIdByCode('sha$new')).toBe('t1');
  });

  it('deletes on a tombstone (a redeemed code, a revoked terminal)', () => {
    const store = new CredentialStore();
    store.apply(code('t1', 'sha$abc'));
    store.apply(password('u1', 'scrypt$x'));
    store.apply({ id: 't1', record: null });
    expect(store.enrollmentCodeHash('t1')).toBeUndefined();
    expect(store.terminalIdByCode('sha$abc')).toBeUndefined();
    expect(store.passwordHashOf('u1')).toBe('scrypt$x');
  });
});
