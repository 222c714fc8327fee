import type { EventEnvelope } from '@lastmeter/contracts';
import { planCredentialMigration } from './credentials-migration';

const event = (type: string, aggregateId: string, data: Record<string, unknown>, schemaVersion = 1) =>
  ({ type, aggregateId, data, schemaVersion, occurredAt: '2026-11-01T00:00:00.000Z' }) as unknown as EventEnvelope;

describe('planCredentialMigration', () => {
  const log = [
    { partition: 2, event: event('user.created', 'u-1', { username: 'a', role: 'analyst', passwordHash: 'scrypt$1' }) },
    { partition: 0, event: event('user.created', 'u-2', { username: 'b', role: 'analyst', passwordHash: 'scrypt$2' }) },
    { partition: 0, event: event('user.password-set', 'u-2', { by: 'admin' }) },
    { partition: 1, event: event('user.created', 'u-3', { username: 'c', role: 'analyst' }, 2) },
    {
      partition: 1,
      event: event('terminal.registered', 't-1', { storeId: 's', enrollmentCodeHash: 'c1', enrollmentExpiresAt: 'x' }),
    },
    {
      partition: 1,
      event: event('terminal.registered', 't-2', { storeId: 's', enrollmentCodeHash: 'c2', enrollmentExpiresAt: 'y' }),
    },
    { partition: 1, event: event('terminal.enrolled', 't-2', { storeId: 's' }) },
  ];

  it('moves legacy hashes that are still the valid secret, in their aggregate partition', () => {
    expect(planCredentialMigration(log, new Set())).toEqual({
      writes: [
        {
          id: 'u-1',
          partition: 2,
          record: { kind: 'password', userId: 'u-1', passwordHash: 'scrypt$1', setAt: '2026-11-01T00:00:00.000Z' },
        },
        {
          id: 't-1',
          partition: 1,
          record: { kind: 'enrollment-code', terminalId: 't-1', codeHash: 'c1', expiresAt: 'x' },
        },
      ],
      skipped: 2,
    });
  });

  it('never overwrites a record the credentials topic already has (running it twice is a no-op)', () => {
    expect(planCredentialMigration(log, new Set(['u-1', 't-1']))).toEqual({ writes: [], skipped: 4 });
  });
});
