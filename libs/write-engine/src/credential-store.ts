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
  /** Staff id → PIN hash (issue 21). */
  private readonly pins = new Map<string, string>();
  /**
   * Terminal id → code hash, and back. A national rollout has hundreds of thousands of
   * codes outstanding, so a SHA-256 hex hash is held as its 32 bytes (one string object,
   * shared by both maps; see `packed`).
   */
  private readonly codes = new Map<string, string>();
  private readonly terminalsByCode = new Map<string, string>();

  apply({ id, record, topic }: CredentialChange): void {
    // A person's data key is not a credential: it is in lastmeter.person-keys.v1.
    if (topic === 'person-key') return;
    const code = this.codes.get(id);
    if (code) this.terminalsByCode.delete(code);
    this.codes.delete(id);
    this.passwords.delete(id);
    this.pins.delete(id);
    if (!record) return;
    this.put(record);
  }

  private put(record: CredentialRecord): void {
    if (record.kind === 'password') {
      this.passwords.set(record.userId, record.passwordHash);
    } else if (record.kind === 'staff-pin') {
      this.pins.set(record.staffId, record.pinHash);
    } else {
      const hash = packed(record.codeHash);
      this.codes.set(record.terminalId, hash);
      this.terminalsByCode.set(hash, record.terminalId);
    }
  }

  passwordHashOf(userId: string): string | undefined {
    return this.passwords.get(userId);
  }

  pinHashOf(staffId: string): string | undefined {
    return this.pins.get(staffId);
  }

  enrollmentCodeHash(terminalId: string): string | undefined {
    const hash = this.codes.get(terminalId);
    return hash === undefined ? undefined : unpacked(hash);
  }

  terminalIdByCode(codeHash: string): string | undefined {
    return this.terminalsByCode.get(packed(codeHash));
  }
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** A 64-digit hex hash as a 32-character one-byte string (48 bytes of heap instead of 80); other strings as they are. */
function packed(hash: string): string {
  return HEX_SHA256.test(hash) ? Buffer.from(hash, 'hex').toString('latin1') : hash;
}

function unpacked(hash: string): string {
  return hash.length === 32 ? Buffer.from(hash, 'latin1').toString('hex') : hash;
}
