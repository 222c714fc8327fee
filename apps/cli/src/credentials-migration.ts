import type { CredentialChange, EventEnvelope } from '@lastmeter/contracts';

/** One message of the events topic as logged (not upcast: the legacy fields are what we want). */
export interface LoggedEvent {
  partition: number;
  event: EventEnvelope;
}

export interface MigrationPlan {
  /** Records to write, with the events partition of their aggregate. */
  writes: Array<CredentialChange & { partition: number }>;
  /** Legacy hashes that need no record (superseded, redeemed, revoked or already migrated). */
  skipped: number;
}

/**
 * What `lastmeter credentials migrate` writes (docs/security.md): the password hash of
 * every v1 `user.created` and the code hash of every v1 `terminal.registered` whose
 * terminal is still waiting to enroll, unless the credentials topic already has a record
 * for that id (a newer password, or a run before this one). Pure.
 */
export function planCredentialMigration(log: LoggedEvent[], existing: ReadonlySet<string>): MigrationPlan {
  const candidates = new Map<string, CredentialChange & { partition: number }>();
  let legacy = 0;
  for (const { partition, event } of log) {
    const data = event.data as Record<string, unknown>;
    const id = event.aggregateId;
    if (event.type === 'user.created' && typeof data.passwordHash === 'string') {
      legacy++;
      candidates.set(id, {
        id,
        partition,
        record: { kind: 'password', userId: id, passwordHash: data.passwordHash, setAt: event.occurredAt },
      });
    } else if (event.type === 'terminal.registered' && typeof data.enrollmentCodeHash === 'string') {
      legacy++;
      candidates.set(id, {
        id,
        partition,
        record: {
          kind: 'enrollment-code',
          terminalId: id,
          codeHash: data.enrollmentCodeHash,
          expiresAt: String(data.enrollmentExpiresAt),
        },
      });
    } else if (['terminal.enrolled', 'terminal.revoked', 'user.password-set'].includes(event.type)) {
      // The legacy secret is no longer the valid one.
      candidates.delete(id);
    }
  }
  const writes = [...candidates.values()].filter((write) => !existing.has(write.id));
  return { writes, skipped: legacy - writes.length };
}
