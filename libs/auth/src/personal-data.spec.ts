import { hashPin, newPersonKey, openText, pinPepper, sealText, verifyPin } from './personal-data';

describe('personal data sealing', () => {
  const key = newPersonKey();

  it('opens what it sealed, for the same person and field', () => {
    const sealed = sealText(key, 'p1', 'name', 'Zoë Dupont');
    expect(sealed.enc).toBe('A256GCM');
    // Whole words: a two-letter fragment turns up by chance in the base64 of the iv and data.
    expect(JSON.stringify(sealed)).not.toMatch(/Zoë|Dupont/);
    expect(openText(key, 'p1', 'name', sealed)).toBe('Zoë Dupont');
  });

  it('seals the same text differently each time (a fresh nonce)', () => {
    expect(sealText(key, 'p1', 'name', 'Ann').data).not.toBe(sealText(key, 'p1', 'name', 'Ann').data);
  });

  it('reads nothing without the key, with another key, or for another person or field', () => {
    const sealed = sealText(key, 'p1', 'name', 'Ann');
    expect(openText(undefined, 'p1', 'name', sealed)).toBeUndefined();
    expect(openText(newPersonKey(), 'p1', 'name', sealed)).toBeUndefined();
    expect(openText(key, 'p2', 'name', sealed)).toBeUndefined();
    expect(openText(key, 'p1', 'note', sealed)).toBeUndefined();
  });

  it('refuses tampered bytes', () => {
    const sealed = sealText(key, 'p1', 'name', 'Ann');
    const bytes = Buffer.from(sealed.data, 'base64url');
    bytes[0] ^= 1;
    expect(openText(key, 'p1', 'name', { ...sealed, data: bytes.toString('base64url') })).toBeUndefined();
  });
});

describe('PIN hashes', () => {
  const pepper = pinPepper('a server secret of at least thirty-two chars');

  it('verifies the right PIN for the right person only, and needs the pepper', () => {
    const stored = hashPin(pepper, 'p1', '0427');
    expect(stored).toMatch(/^hmac-sha256\$[\w-]{43}$/);
    expect(stored).not.toContain('0427');
    expect(verifyPin(pepper, 'p1', '0427', stored)).toBe(true);
    expect(verifyPin(pepper, 'p1', '0428', stored)).toBe(false);
    expect(verifyPin(pepper, 'p2', '0427', stored)).toBe(false);
    expect(verifyPin(pinPepper('another server secret of thirty-two chars'), 'p1', '0427', stored)).toBe(false);
  });
});
