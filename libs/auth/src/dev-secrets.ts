import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface DevSecrets {
  jwtSecret: string;
  adminUser: string;
  adminPassword: string;
}

/**
 * Development defaults for LASTMETER_JWT_SECRET and the first admin's password, made
 * once and kept (mode 0600) under .lastmeter/ so tokens and logins survive restarts.
 * Production sets the environment variables instead; explicit values always win.
 */
export function loadOrCreateDevSecrets(file: string, env: NodeJS.ProcessEnv = process.env): DevSecrets {
  let stored: Partial<DevSecrets> = {};
  if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevSecrets>;
  const secrets: DevSecrets = {
    jwtSecret: stored.jwtSecret ?? randomBytes(32).toString('base64url'),
    adminUser: stored.adminUser ?? 'admin',
    adminPassword: stored.adminPassword ?? randomBytes(9).toString('base64url'),
  };
  if (JSON.stringify(stored) !== JSON.stringify(secrets)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  }
  return {
    jwtSecret: env.LASTMETER_JWT_SECRET ?? secrets.jwtSecret,
    adminUser: env.LASTMETER_ADMIN_USER ?? secrets.adminUser,
    adminPassword: env.LASTMETER_ADMIN_PASSWORD ?? secrets.adminPassword,
  };
}
