/** The command service's HTTP API as the CLI's admin commands use it (import, people). */
import { existsSync, readFileSync } from 'node:fs';
import { commandEnv, cliEnv, loadSpec } from '@lastmeter/config';
import { lastmeterHome } from '@lastmeter/infra';
import { UserFacingError } from './output';

/** `--url`, else the local command service (COMMAND_PORT, 3001), without a trailing slash. */
export function commandUrl(url?: string): string {
  return (url ?? `http://127.0.0.1:${loadSpec({ COMMAND_PORT: commandEnv.COMMAND_PORT }).COMMAND_PORT}`)
    .trim()
    .replace(/\/+$/, '');
}

/** LASTMETER_TOKEN, or a login as the configured admin (the environment, else `npm start`'s dev admin). */
export async function adminToken(url: string): Promise<string> {
  const { LASTMETER_TOKEN } = loadSpec(cliEnv);
  if (LASTMETER_TOKEN) return LASTMETER_TOKEN;
  let username = process.env.LASTMETER_ADMIN_USER;
  let password = process.env.LASTMETER_ADMIN_PASSWORD;
  const secrets = lastmeterHome().secrets;
  if (!password && existsSync(secrets)) {
    const stored = JSON.parse(readFileSync(secrets, 'utf8')) as { adminUser?: string; adminPassword?: string };
    username ??= stored.adminUser;
    password = stored.adminPassword;
  }
  if (!password) {
    throw new UserFacingError(
      'no credentials: set LASTMETER_TOKEN to an hq-admin token (POST /v1/auth/login), or LASTMETER_ADMIN_PASSWORD',
    );
  }
  const response = await call(`${url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: username ?? 'admin', password }),
  });
  const body = (await response.json().catch(() => ({}))) as { token?: string; message?: string };
  if (!response.ok || !body.token) {
    throw new UserFacingError(
      `login as ${username ?? 'admin'} refused: ${response.status} ${body.message ?? ''}`.trim(),
    );
  }
  return body.token;
}

export async function call(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new UserFacingError(`the command service at ${new URL(url).origin} does not answer (${cause})`);
  }
}
