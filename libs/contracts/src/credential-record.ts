/** The `type` header of every record of lastmeter.credentials.v1 (tombstones included). */
export const CREDENTIAL_RECORD = 'credential';

/**
 * Records of lastmeter.credentials.v1 (compacted, keyed by user or terminal id): the
 * secrets that must never be in the permanent log. The write side appends them in the
 * same transaction as the event that says what happened (`user.created`,
 * `user.password-set`, `terminal.registered`) and a tombstone (null value) when the secret
 * stops being valid (`terminal.enrolled`, `terminal.revoked`). Only the command service
 * reads this topic; no read path, replay or export touches it. See docs/security.md.
 */
export type CredentialRecord =
  | {
      kind: 'password';
      userId: string;
      /** scrypt, `scrypt$N$r$p$salt$hash` (base64url). */
      passwordHash: string;
      setAt: string;
    }
  | {
      kind: 'enrollment-code';
      terminalId: string;
      /** SHA-256 of the normalised one-time code (60 bits, single use, 24 h). */
      codeHash: string;
      expiresAt: string;
    }
  | {
      kind: 'staff-pin';
      staffId: string;
      /** `hmac-sha256$…` of the staff id and the 4–6 digit PIN under a pepper from the server's secret (hashPin). */
      pinHash: string;
      setAt: string;
    };

/** One write to the credentials topic: a record, or a tombstone (`record: null`). */
export interface CredentialChange {
  /** User, terminal or staff id (the message key). */
  id: string;
  record: CredentialRecord | null;
  /**
   * `person-key`: a tombstone for the staff member's key in lastmeter.person-keys.v1
   * (erasure), appended in the same transaction as `staff.erased`.
   */
  topic?: 'person-key';
}

/** The `type` header of every record of lastmeter.person-keys.v1 (tombstones included). */
export const PERSON_KEY_RECORD = 'person-key';

/**
 * A record of lastmeter.person-keys.v1 (compacted, keyed by staff id): the person's data
 * key. Written by the command service before the command that adds the person, so no
 * command or event ever holds a personal field in clear; a tombstone erases the person.
 */
export interface PersonKeyRecord {
  /** 256 random bits, base64url. */
  key: string;
  createdAt: string;
}

/** Field names that carry credential material; no output may contain them. */
export const CREDENTIAL_FIELDS = [
  'passwordHash',
  'enrollmentCodeHash',
  'codeHash',
  'pinHash',
  'salt',
  'secret',
] as const;

/** `"field": "value"`, also as escaped JSON inside a string (`\\"field\\": \\"value\\"`). Hash values hold no quotes. */
const CREDENTIAL_VALUE = new RegExp(`(\\\\?)"(${CREDENTIAL_FIELDS.join('|')})\\1"\\s*:\\s*\\1"[^"\\\\]*\\1"`, 'g');

/**
 * Text with the value of every credential field replaced, for outputs that must show
 * stored bytes as they are (dead letters of a v1 event written before credentials v2).
 */
export function redactCredentials(text: string): string {
  return text.replace(CREDENTIAL_VALUE, '$1"$2$1":$1"[redacted]$1"');
}
