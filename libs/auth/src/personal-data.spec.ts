import { newPersonKey, openText, sealText } from './personal-data';

describe('personal data sealing', () => {
  const key = newPersonKey();

  it('opens what it sealed, for the same person and field', () => {
    const sealed = sealText(key, 'p1', 'name', 'Zoë Dupont');
    expect(sealed.enc).toBe('A256GCM');
    expect(JSON.stringify(sealed)).not.toContain('Zo');
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
