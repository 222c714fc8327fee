import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SealedText } from '@lastmeter/contracts';

/**
 * Crypto-shredding (docs/privacy.md, ADR 0008): each person's personal fields are sealed
 * with their own 256-bit key, AES-256-GCM from Node's crypto. The person's id and the
 * field's name are the additional data, so a sealed name cannot be passed off as another
 * person's or as another field. Deleting the key is what erases the person.
 */
export const ERASED_PERSON = 'Erased person';

export function newPersonKey(): Buffer {
  return randomBytes(32);
}

function aad(personId: string, field: string): Buffer {
  return Buffer.from(`${personId}/${field}`, 'utf8');
}

export function sealText(key: Buffer, personId: string, field: string, text: string): SealedText {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(personId, field));
  const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { enc: 'A256GCM', iv: iv.toString('base64url'), data: data.toString('base64url') };
}

/** The text, or undefined without a key (erased) or when the bytes do not authenticate. */
export function openText(
  key: Buffer | undefined,
  personId: string,
  field: string,
  sealed: SealedText | undefined,
): string | undefined {
  if (!key || !sealed || sealed.enc !== 'A256GCM') return undefined;
  try {
    const bytes = Buffer.from(sealed.data, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64url'));
    decipher.setAAD(aad(personId, field));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** A staff member's PIN: 4 to 6 digits, kept as a scrypt hash like a password. */
export const PIN = /^\d{4,6}$/;

/**
 * A PIN's stored form: `hmac-sha256$<base64url>` of the staff id and the PIN under a
 * pepper derived from the server's secret. Not a slow KDF, on purpose: a PIN of 4 to 6
 * digits has at most a million values, so no work factor protects a leaked hash; what
 * does is the pepper (a copy of the credentials topic alone opens nothing) and the online
 * lock-out. And people sign in on shared tablets all day: a 100 ms scrypt per sign-in
 * would cost a national retailer cores of CPU.
 */
export function pinPepper(serverSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', serverSecret, 'lastmeter', 'staff-pin', 32));
}

export function hashPin(pepper: Buffer, staffId: string, pin: string): string {
  return `hmac-sha256$${createHmac('sha256', pepper).update(`${staffId}\n${pin}`).digest('base64url')}`;
}

export function verifyPin(pepper: Buffer, staffId: string, pin: string, stored: string): boolean {
  const expected = Buffer.from(hashPin(pepper, staffId, pin));
  const actual = Buffer.from(stored);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
