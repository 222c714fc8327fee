/** The decider's in-memory copy of the credentials topic (pure, no I/O). */
import type { CredentialChange, CredentialRecord } from '@lastmeter/contracts';
import type { CredentialView } from '@lastmeter/domain';

/**
 * The command service's copy of lastmeter.credentials.v1 (docs/security.md): password
 * hashes by user id and outstanding enrollment codes by terminal id (and by code hash,
 * for redemption). Fed by the EventTail from the compacted topic and by the decider's own
 * commits; a tombstone deletes. Nothing here is ever projected, logged or replayed.
 */
export class CredentialStore implements CredentialView {
  private readonly passwords = new Map<string, string>();
  /** Terminal id → code hash (the same string object as the key of terminalsByCode). */
  private readonly codes = new Map<string, string>();
  private readonly terminalsByCode = new Map<string, string>();

  apply({ id, record }: CredentialChange): void {
    const code = this.codes.get(id);
    if (code) this.terminalsByCode.delete(code);
    this.codes.delete(id);
    this.passwords.delete(id);
    if (!record) return;
    this.put(record);
  }

  private put(record: CredentialRecord): void {
    if (record.kind === 'password') {
      this.passwords.set(record.userId, record.passwordHash);
    } else {
      this.codes.set(record.terminalId, record.codeHash);
      this.terminalsByCode.set(record.codeHash, record.terminalId);
    }
  }

  passwordHashOf(userId: string): string | undefined {
    return this.passwords.get(userId);
  }

  enrollmentCodeHash(terminalId: string): string | undefined {
    return this.codes.get(terminalId);
  }

  terminalIdByCode(codeHash: string): string | undefined {
    return this.terminalsByCode.get(codeHash);
  }
}
