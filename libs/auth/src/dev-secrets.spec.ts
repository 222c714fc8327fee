import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateDevSecrets } from './dev-secrets';

describe('loadOrCreateDevSecrets', () => {
  const file = () => join(mkdtempSync(join(tmpdir(), 'lm-secrets-')), 'secrets.json');

  it('generates once and returns the same secrets on the next start', () => {
    const path = file();
    const first = loadOrCreateDevSecrets(path, {});
    const second = loadOrCreateDevSecrets(path, {});
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(second).toEqual(first);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('lets the environment override what is stored, without storing it', () => {
    const path = file();
    const stored = loadOrCreateDevSecrets(path, {});
    const overridden = loadOrCreateDevSecrets(path, { LASTMETER_ADMIN_PASSWORD: 'from-env' });
    expect(overridden.adminPassword).toBe('from-env');
    expect(JSON.parse(readFileSync(path, 'utf8')).adminPassword).toBe(stored.adminPassword);
  });
});
