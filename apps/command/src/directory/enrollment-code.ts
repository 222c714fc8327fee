import { createHash, randomInt } from 'node:crypto';

// No 0/O, 1/I/L: codes are typed by hand on a store tablet.
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const ENROLLMENT_TTL_MS = 24 * 60 * 60 * 1000;

/** `K7QM-2XPD-9WRT`: 60 bits of randomness, single use, valid 24 h. */
export function newEnrollmentCode(): string {
  const chars = Array.from({ length: 12 }, () => ALPHABET[randomInt(ALPHABET.length)]);
  return [chars.slice(0, 4), chars.slice(4, 8), chars.slice(8)].map((group) => group.join('')).join('-');
}

/**
 * When a code issued now expires (ISO), on the write engine's clock: the decider that
 * checks it reads the same clock (moved ahead in tests: LASTMETER_CLOCK_FILE).
 */
export function enrollmentExpiry(now: Date): string {
  return new Date(now.getTime() + ENROLLMENT_TTL_MS).toISOString();
}

/** Only the hash is stored in the log; case and dashes do not matter when typing. */
export function hashEnrollmentCode(code: string): string {
  return createHash('sha256')
    .update(code.toUpperCase().replace(/[^0-9A-Z]/g, ''))
    .digest('hex');
}
