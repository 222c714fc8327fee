import { generateKeyPairSync } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { io, type Socket } from 'socket.io-client';
import request from 'supertest';
import { CONSOLE_NAMESPACE, TERMINAL_NAMESPACE, topicNames } from '@lastmeter/contracts';
import { startApp, startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { expectNothingWritten, writeSnapshot } from '../support/no-writes';
import { bearer, Publisher, tokenFor } from '../support/write-api';

/**
 * Tokens and people (docs/security.md): forged and tampered JWTs are refused on every
 * entry point, a user's lifecycle (disable, enable, password reset and change, role
 * change) ends their tokens and sockets at once, logins are throttled per address and per
 * username across instances, and every refusal writes nothing.
 */
const ns = testNamespace('sec-users', {
  LOGIN_LIMIT_PER_USERNAME: '5',
  LOGIN_LIMIT_PER_IP: '8',
  ENROLL_LIMIT_PER_IP: '6',
  TRUST_PROXY: 'loopback',
});
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let second: RunningApp;
let api: Publisher;
let storeA: string;
let storeB: string;
const sockets: Socket[] = [];
/** Login counters are writes by design; every other key must stay untouched by a refusal. */
const THROTTLE_KEYS = /:throttle:/;

const admin = () => tokenFor(ns, 'hq-admin', { sub: 'admin:admin' });
const login = (username: string, password: string, ip?: string, app = apps.command) => {
  const call = request(app.url).post('/v1/auth/login');
  if (ip) call.set('x-forwarded-for', ip);
  return call.send({ username, password });
};

let addresses = 0;
/**
 * Creates a user and logs them in (each login from its own address, clear of the
 * per-address limit). Returns once the read side lists the user too: its projection is
 * a write of its own (new Redis keys), which must not land inside a later test's
 * nothing-written window.
 */
async function createUser(username: string, role: string, extra: Record<string, unknown> = {}) {
  const response = await request(apps.command.url)
    .post('/v1/users')
    .set(bearer(admin()))
    .send({ username, password: `${username}-password-1`, role, ...extra })
    .expect(201);
  addresses++;
  const ip = `10.0.${Math.floor(addresses / 250)}.${addresses % 250}`;
  const token = (await login(username, `${username}-password-1`, ip).expect(200)).body.token as string;
  await eventually(async () => {
    const listed = await request(apps.gateway.url).get('/v1/users').set(bearer(admin())).expect(200);
    expect(listed.body.items.map((user: { username: string }) => user.username)).toContain(username);
  });
  return { id: response.body.id as string, token };
}

function connect(namespace: string, token: string): Promise<Socket> {
  const socket = io(`${apps.gateway.url}${namespace}`, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
  });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

async function refusedReason(namespace: string, token: string): Promise<string | undefined> {
  const error = (await connect(namespace, token).then(
    () => undefined,
    (e: Error & { data?: { reason?: string } }) => e,
  )) as (Error & { data?: { reason?: string } }) | undefined;
  if (!error) throw new Error(`connected to ${namespace}; expected a refusal`);
  return error.data?.reason;
}

beforeAll(async () => {
  apps = await startApps(ns.env);
  // A second command instance that does not trust X-Forwarded-For (TRUST_PROXY off).
  second = await startApp('command', { ...ns.env, TRUST_PROXY: 'false' });
  api = new Publisher(apps.command.url, ns);
  const region = await api.region('sec');
  storeA = await api.store('SEC-A', region);
  storeB = await api.store('SEC-B', region);
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await stopApps({ ...apps });
  await second?.stop();
  await cleanupNamespace(ns);
});

describe('forged and tampered tokens', () => {
  const now = Math.floor(Date.now() / 1_000);
  const claims = { sub: 'admin:admin', role: 'hq-admin' };
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forged: Array<[string, () => string]> = [
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, iss: 'lastmeter', iat: now })}.`],
    [
      'RS256 signed by an attacker (HS/RS confusion)',
      () =>
        new JwtService({ privateKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }).sign(claims, {
          algorithm: 'RS256',
          issuer: 'lastmeter',
        }),
    ],
    [
      'HS256 keyed with an RSA public key',
      () =>
        new JwtService({ secret: rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string }).sign(claims, {
          issuer: 'lastmeter',
        }),
    ],
    ['wrong issuer', () => new JwtService({ secret: ns.env.LASTMETER_JWT_SECRET }).sign(claims, { issuer: 'evil' })],
    ['no issuer', () => new JwtService({ secret: ns.env.LASTMETER_JWT_SECRET }).sign(claims)],
    ['expired', () => tokenFor(ns, 'hq-admin', { sub: 'admin:admin', expiresIn: '-10s' })],
    ['another secret', () => new JwtService({ secret: 'x'.repeat(40) }).sign(claims, { issuer: 'lastmeter' })],
    [
      'an unknown role',
      () =>
        new JwtService({ secret: ns.env.LASTMETER_JWT_SECRET }).sign(
          { sub: 'x', role: 'root' },
          { issuer: 'lastmeter' },
        ),
    ],
    [
      'a payload edited after signing',
      () => {
        const [header, , signature] = tokenFor(ns, 'analyst').split('.');
        return `${header}.${b64({ ...claims, iss: 'lastmeter', iat: now, exp: now + 600 })}.${signature}`;
      },
    ],
  ];

  it.each(forged)('refuses %s on the write API (401) and writes nothing', async (_name, token) => {
    const before = await writeSnapshot(ns);
    const response = await request(apps.command.url)
      .post('/v1/regions')
      .set(bearer(token()))
      .send({ code: 'forged', name: 'Forged' })
      .expect(401);
    expect(response.body.message).toMatch(/invalid token|token expired/);
    await expectNothingWritten(ns, before);
  });

  it.each(forged)('refuses %s on the read API (401)', async (_name, token) => {
    await request(apps.gateway.url).get('/v1/users').set(bearer(token())).expect(401);
    await request(apps.gateway.url).get('/v1/events').set(bearer(token())).expect(401);
  });

  it.each(forged.slice(0, 5))('refuses %s on /console and /terminal sockets', async (_name, token) => {
    expect(await refusedReason(CONSOLE_NAMESPACE, token())).toMatch(/token-invalid|token-expired/);
    expect(await refusedReason(TERMINAL_NAMESPACE, token())).toMatch(/token-invalid|token-expired|not-a-terminal/);
  });
});

describe('user lifecycle', () => {
  it('a disabled user is refused everywhere: HTTP on both apps and instances, open console closed, login refused', async () => {
    const manager = await createUser('leaving-manager', 'hq-editor');
    await request(apps.gateway.url).get('/v1/communications').set(bearer(manager.token)).expect(200);
    const consoleSocket = await connect(CONSOLE_NAMESPACE, manager.token);
    const closed = new Promise<string>((resolve) => consoleSocket.once('disconnect', resolve));

    await request(apps.command.url)
      .post(`/v1/users/${manager.id}/disable`)
      .set(bearer(admin()))
      .send({ reason: 'left the company' })
      .expect(200);
    await eventually(
      async () => {
        await request(apps.gateway.url).get('/v1/communications').set(bearer(manager.token)).expect(401);
        await request(apps.command.url).post('/v1/communications').set(bearer(manager.token)).send({}).expect(401);
        await request(second.url).post('/v1/communications').set(bearer(manager.token)).send({}).expect(401);
      },
      { timeoutMs: 5_000, intervalMs: 50, what: 'every route to refuse the disabled user' },
    );
    expect(await closed).toBe('io server disconnect');
    expect(await refusedReason(CONSOLE_NAMESPACE, manager.token)).toBe('session-ended');
    const refused = await login('leaving-manager', 'leaving-manager-password-1', '10.1.0.1').expect(403);
    expect(refused.body.message).toMatch(/disabled/);
    // A wrong password does not reveal that the account is disabled.
    await login('leaving-manager', 'wrong-password', '10.1.0.2').expect(401);
  });

  it('enabling lets the user log in again, but tokens from before stay refused', async () => {
    const user = await createUser('returning', 'analyst');
    await request(apps.command.url).post(`/v1/users/${user.id}/disable`).set(bearer(admin())).send({}).expect(200);
    await request(apps.command.url).post(`/v1/users/${user.id}/enable`).set(bearer(admin())).send({}).expect(200);
    const fresh = (await login('returning', 'returning-password-1', '10.1.0.3').expect(200)).body.token as string;
    await eventually(() => request(apps.gateway.url).get('/v1/communications').set(bearer(fresh)).expect(200));
    // The fresh token is accepted before the read side has the disable and enable too; once
    // it has both, the old token is refused for its session, no longer for the account.
    await eventually(async () => {
      const refused = await request(apps.gateway.url).get('/v1/communications').set(bearer(user.token)).expect(401);
      expect(refused.body.message).toMatch(/session ended/);
    });
  });

  it('an admin password reset ends the old password and every old token', async () => {
    const user = await createUser('forgetful', 'analyst');
    await request(apps.command.url)
      .post(`/v1/users/${user.id}/password`)
      .set(bearer(admin()))
      .send({ password: 'brand-new-password-9' })
      .expect(200);
    await login('forgetful', 'forgetful-password-1', '10.1.0.4').expect(401);
    await login('forgetful', 'brand-new-password-9', '10.1.0.5').expect(200);
    await eventually(() => request(apps.gateway.url).get('/v1/events?type=none').set(bearer(user.token)).expect(401));
  });

  it('a user changes their own password with the current one and gets a fresh token; a wrong current one writes nothing', async () => {
    const user = await createUser('careful', 'hq-editor');
    const before = await writeSnapshot(ns);
    const wrong = await request(apps.command.url)
      .post('/v1/auth/password')
      .set(bearer(user.token))
      .send({ currentPassword: 'not-it', newPassword: 'careful-password-2' })
      .expect(400);
    expect(wrong.body.fields).toEqual({ currentPassword: ['is not the current password'] });
    // But the attempt counts against the user (a stolen token may not guess without limit).
    await expectNothingWritten(ns, before, { ignore: THROTTLE_KEYS });

    const changed = await request(apps.command.url)
      .post('/v1/auth/password')
      .set(bearer(user.token))
      .send({ currentPassword: 'careful-password-1', newPassword: 'careful-password-2' })
      .expect(200);
    await eventually(() =>
      request(apps.gateway.url).get('/v1/communications').set(bearer(changed.body.token)).expect(200),
    );
    // The gateway refuses the old token once the read side has the change: the new token
    // being accepted does not say it has (it is accepted before the change too).
    await eventually(async () => {
      const refused = await request(apps.gateway.url).get('/v1/communications').set(bearer(user.token)).expect(401);
      expect(refused.body.message).toMatch(/session ended/);
    });
    await login('careful', 'careful-password-2', '10.1.0.6').expect(200);
  });

  it('a role change ends tokens carrying the old role; the next login carries the new one', async () => {
    const user = await createUser('promoted', 'analyst');
    await request(apps.command.url)
      .patch(`/v1/users/${user.id}`)
      .set(bearer(admin()))
      .send({ role: 'store-manager', storeId: storeA })
      .expect(200);
    await eventually(() => request(apps.gateway.url).get('/v1/communications').set(bearer(user.token)).expect(401));
    const next = await login('promoted', 'promoted-password-1', '10.1.0.7').expect(200);
    expect(next.body).toMatchObject({ role: 'store-manager', storeId: storeA });
    // Scoped to the new store: another store's feed is forbidden.
    await eventually(() =>
      request(apps.gateway.url).get(`/v1/stores/${storeB}/feed`).set(bearer(next.body.token)).expect(403),
    );
  });

  it('lists users for an hq-admin without any credential material', async () => {
    await createUser('listed', 'agency');
    const { body } = await eventually(() =>
      request(apps.gateway.url)
        .get('/v1/users')
        .set(bearer(admin()))
        .expect(200)
        .then((response) => {
          expect(response.body.items.map((u: { username: string }) => u.username)).toContain('listed');
          return response;
        }),
    );
    expect(JSON.stringify(body)).not.toMatch(/scrypt|passwordHash|sessionVersion/);
    await request(apps.gateway.url)
      .get('/v1/users')
      .set(bearer(tokenFor(ns, 'analyst')))
      .expect(403);
  });

  const refusals: Array<
    [string, () => Promise<{ method: 'post' | 'patch'; path: string; token: string; body: object }>, number, string[]?]
  > = [
    [
      'an editor disabling a user',
      async () => ({
        method: 'post',
        path: `/v1/users/${await target()}/disable`,
        token: tokenFor(ns, 'hq-editor'),
        body: {},
      }),
      403,
      undefined,
    ],
    [
      'an analyst resetting a password',
      async () => ({
        method: 'post',
        path: `/v1/users/${await target()}/password`,
        token: tokenFor(ns, 'analyst'),
        body: { password: 'x'.repeat(12) },
      }),
      403,
      undefined,
    ],
    [
      'a store manager changing a role',
      async () => ({
        method: 'patch',
        path: `/v1/users/${await target()}`,
        token: tokenFor(ns, 'store-manager', { storeId: storeA }),
        body: { role: 'hq-admin' },
      }),
      403,
      undefined,
    ],
    [
      'an admin disabling their own account',
      async () => ({ method: 'post', path: `/v1/users/${adminUser.id}/disable`, token: adminUser.token, body: {} }),
      422,
      undefined,
    ],
    [
      'disabling an unknown user',
      async () => ({
        method: 'post',
        path: '/v1/users/7c9e6679-7425-40de-944b-e07fc1f90ae7/disable',
        token: admin(),
        body: {},
      }),
      404,
      undefined,
    ],
    [
      'an unknown field on disable',
      async () => ({
        method: 'post',
        path: `/v1/users/${await target()}/disable`,
        token: admin(),
        body: { forever: true },
      }),
      400,
      ['forever'],
    ],
    [
      'a short reset password',
      async () => ({
        method: 'post',
        path: `/v1/users/${await target()}/password`,
        token: admin(),
        body: { password: 'short' },
      }),
      400,
      ['password'],
    ],
    [
      'an unknown role',
      async () => ({ method: 'patch', path: `/v1/users/${await target()}`, token: admin(), body: { role: 'root' } }),
      400,
      ['role'],
    ],
    [
      'a store manager without a store',
      async () => ({
        method: 'patch',
        path: `/v1/users/${await target()}`,
        token: admin(),
        body: { role: 'store-manager' },
      }),
      400,
      ['storeId'],
    ],
    [
      'a user id that is not a UUID',
      async () => ({ method: 'post', path: '/v1/users/not-a-uuid/enable', token: admin(), body: {} }),
      400,
      undefined,
    ],
    [
      'a self change with an unknown field',
      async () => ({
        method: 'post',
        path: '/v1/auth/password',
        token: (await targetUser()).token,
        body: { currentPassword: 'a', newPassword: 'b'.repeat(10), admin: true },
      }),
      400,
      ['admin'],
    ],
  ];
  let targetCache: { id: string; token: string } | undefined;
  let adminUser: { id: string; token: string };
  const targetUser = async () => (targetCache ??= await createUser('target-user', 'hq-editor'));
  const target = async () => (await targetUser()).id;
  beforeAll(async () => {
    adminUser = await createUser('second-admin', 'hq-admin');
    await targetUser();
  });

  it.each(refusals)('refuses %s with the exact 4xx and writes nothing', async (_name, build, status, fields) => {
    const call = await build();
    const before = await writeSnapshot(ns);
    const response = await request(apps.command.url)[call.method](call.path).set(bearer(call.token)).send(call.body);
    expect(response.status).toBe(status);
    if (fields) expect(Object.keys(response.body.fields ?? {})).toEqual(fields);
    // A password change is counted as an attempt on the user's password before anything else.
    await expectNothingWritten(ns, before, call.path === '/v1/auth/password' ? { ignore: THROTTLE_KEYS } : {});
  });
});

describe('login limits', () => {
  it('limits attempts per username across addresses and across command instances (429, Retry-After)', async () => {
    await request(apps.command.url)
      .post('/v1/users')
      .set(bearer(admin()))
      .send({ username: 'guessed', password: 'guessed-password-1', role: 'analyst' })
      .expect(201);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await login('guessed', `guess-${i}`, `10.2.0.${i}`)).status);
    // The second instance shares the count (Redis), whatever the address.
    for (let i = 3; i < 6; i++) statuses.push((await login('guessed', `guess-${i}`, undefined, second)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const refused = await login('guessed', 'guessed-password-1', '10.2.0.99').expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body.message).toMatch(/too many login attempts/);
    // Other users are not affected.
    await login('admin', ns.env.LASTMETER_ADMIN_PASSWORD!, '10.2.0.100').expect(200);
  });

  it('limits attempts per address across usernames; another address still logs in', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await login(`nobody-${i}`, 'x', '10.3.0.1')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 401, 401, 429]);
    await login('admin', ns.env.LASTMETER_ADMIN_PASSWORD!, '10.3.0.2').expect(200);
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY says the proxy is trusted', async () => {
    // `second` does not trust proxies: every spoofed address is the same loopback client.
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await login(`spoof-${i}`, 'x', `10.4.0.${i}`, second)).status);
    expect(statuses.at(-1)).toBe(429);
  });

  it('limits enrollment attempts per address (wrong codes), writing nothing', async () => {
    const enroll = (code: string, ip: string) =>
      request(apps.command.url).post('/v1/terminals/enroll').set('x-forwarded-for', ip).send({ code });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await enroll(`WRNG-CODE-000${i}`, '10.5.0.1')).status);
    expect(statuses).toEqual([422, 422, 422, 422, 422, 422]);
    const before = await writeSnapshot(ns);
    const refused = await enroll('WRNG-CODE-0009', '10.5.0.1').expect(429);
    expect(refused.body.message).toMatch(/too many enrollment attempts/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    await expectNothingWritten(ns, before, { ignore: THROTTLE_KEYS });
    // Another address still enrolls.
    await enroll('WRNG-CODE-0010', '10.5.0.2').expect(422);
  });

  it('a throttled login writes nothing but its counters', async () => {
    const before = await writeSnapshot(ns);
    await login('nobody-x', 'x', '10.3.0.1').expect(429);
    await expectNothingWritten(ns, before, { ignore: THROTTLE_KEYS });
  });
});

describe('cross-store access', () => {
  it('a store manager and a terminal of store A read nothing of store B over HTTP', async () => {
    const manager = tokenFor(ns, 'store-manager', { storeId: storeA, sub: 'manager-a' });
    const device = await api.terminal(storeA);
    for (const token of [manager, device.token]) {
      await request(apps.gateway.url).get(`/v1/stores/${storeB}/feed`).set(bearer(token)).expect(403);
      await request(apps.gateway.url).get(`/v1/stores/${storeB}`).set(bearer(token)).expect(403);
    }
    await request(apps.gateway.url).get(`/v1/terminals?storeId=${storeB}`).set(bearer(manager)).expect(403);
  });

  it('a store manager files no report for another store and nothing is written', async () => {
    const manager = tokenFor(ns, 'store-manager', { storeId: storeA, sub: 'manager-a' });
    const before = await writeSnapshot(ns);
    await request(apps.command.url)
      .post(`/v1/stores/${storeB}/reports`)
      .set(bearer(manager))
      .send({ title: 'x', body: 'y' })
      .expect(403);
    await expectNothingWritten(ns, before);
  });

  it('a revoked terminal token is refused on HTTP at once', async () => {
    const device = await api.terminal(storeA);
    await request(apps.gateway.url).get(`/v1/stores/${storeA}/feed`).set(bearer(device.token)).expect(200);
    await api.revokeTerminal(device.terminalId);
    await eventually(() =>
      request(apps.gateway.url).get(`/v1/stores/${storeA}/feed`).set(bearer(device.token)).expect(401),
    );
    const events = (await readTopic(ns.env.KAFKA_BROKERS!, topics.events)).map((m) => m.value.type);
    expect(events).toContain('terminal.revoked');
  });
});
