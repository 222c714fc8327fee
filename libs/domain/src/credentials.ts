import type { CredentialChange, EventDraft } from '@lastmeter/contracts';
import type { AnyCommand } from './commands';

/**
 * What a decided command changes in lastmeter.credentials.v1 (docs/security.md): the
 * secret a command carried goes to the compacted topic, keyed by the aggregate, in the
 * same transaction as the events that say what happened; a secret that stops being valid
 * gets a tombstone. A refused command (no events) changes nothing, and neither does an
 * import that found the terminal already there (it keeps its first code). Pure.
 */
export function credentialChanges(
  command: AnyCommand,
  aggregateId: string,
  events: readonly EventDraft[],
  now: string,
): CredentialChange[] {
  if (events.length === 0) return [];
  switch (command.type) {
    case 'user.create':
    case 'user.set-password':
      return [
        {
          id: aggregateId,
          record: { kind: 'password', userId: aggregateId, passwordHash: command.payload.passwordHash, setAt: now },
        },
      ];
    case 'terminal.register':
    case 'terminal.import':
      return [
        {
          id: aggregateId,
          record: {
            kind: 'enrollment-code',
            terminalId: aggregateId,
            codeHash: command.payload.enrollmentCodeHash,
            expiresAt: command.payload.enrollmentExpiresAt,
          },
        },
      ];
    case 'staff.add':
    case 'staff.update':
    case 'staff.import':
      if (!command.payload.pinHash) return [];
      return [
        {
          id: aggregateId,
          record: { kind: 'staff-pin', staffId: aggregateId, pinHash: command.payload.pinHash, setAt: now },
        },
      ];
    case 'staff.remove':
      return [{ id: aggregateId, record: null }];
    case 'staff.erase':
      // The PIN, and the key that seals every personal field of theirs (docs/privacy.md).
      return [
        { id: aggregateId, record: null },
        { id: aggregateId, record: null, topic: 'person-key' },
      ];
    case 'terminal.enroll':
    case 'terminal.revoke':
      // Single use: a redeemed (or revoked) terminal's code is deleted.
      return [{ id: aggregateId, record: null }];
    default:
      return [];
  }
}
