import { createHash, randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import request from 'supertest';
import { hashPassword } from '@lastmeter/auth';
import {
  CONSOLE_NAMESPACE,
  EVENT_TYPES,
  topicNames,
  type CredentialRecord,
  type DomainEvent,
  type FeedMessage,
} from '@lastmeter/contracts';
import { createKafkaClient, createProducer } from '@lastmeter/kafka';
import { createRedisClient } from '@lastmeter/redis';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { seedDemo } from '../../apps/cli/src/seed';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { runCli } from '../support/cli';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { bearer, Publisher, tokenFor } from '../support/write-api';
import { suiteKeys } from '../support/suite-keys';

/**
 * Credentials never leave through a read path (docs/security.md): password and
 * enrollment-code hashes live only in the compacted credentials topic; events written
 * before that (schema v1) are stripped on every read and moved by `lastmeter credentials
 * migrate`; and a sweep over every event type checks every output: HTTP, NDJSON, CSV, the
 * CLI, sockets, Redis read models and the apps' own logs.
 */
const ns = testNamespace('sec-credentials', { SURVEY_BATCH_MS: '300' });
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: Publisher;
const clients: TerminalClient[] = [];
const sockets: Socket[] = [];
/** Everything a socket handed out during the sweep. */
const socketPayloads: unknown[] = [];

const analyst = () => tokenFor(ns, 'analyst');
const admin = () => tokenFor(ns, 'hq-admin', { sub: 'admin:admin' });
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const normalisedCode = (code: string) => code.toUpperCase().replace(/[^0-9A-Z]/g, '');

/** What no output may ever carry. Passwords, code hashes and device tokens are added as they are made. */
const secrets = new Set<string>(['passwordHash', 'enrollmentCodeHash', 'codeHash', 'scrypt$']);

function expectNoSecret(where: string, output: string): void {
  for (const secret of secrets) {
    if (output.includes(secret)) throw new Error(`${where} carries credential material: ${secret.slice(0, 24)}…`);
  }
}

async function replayAll(query = ''): Promise<{ text: string; events: DomainEvent[] }> {
  const response = await request(apps.gateway.url).get(`/v1/events${query}`).set(bearer(analyst())).expect(200);
  const text = response.text;
  return {
    text,
    events: text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as DomainEvent),
  };
}

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
});

afterAll(async () => {
  for (const client of clients) client.close();
  for (const socket of sockets) socket.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

it('keeps hashes out of the event log and in the credentials topic; a redeemed code leaves a tombstone', async () => {
  const region = await api.region('cred');
  const store = await api.store('CRED-1', region);
  await request(apps.command.url)
    .post('/v1/users')
    .set(bearer(admin()))
    .send({ username: 'hashless', password: 'hashless-password-1', role: 'analyst' })
    .expect(201);
  const registered = await request(apps.command.url)
    .post('/v1/terminals')
    .set(bearer(admin()))
    .send({ storeId: store })
    .expect(201);
  const codeHash = sha256(normalisedCode(registered.body.enrollmentCode));
  secrets.add(codeHash).add('hashless-password-1');

  const events = await readTopic(ns.env.KAFKA_BROKERS!, topics.events);
  expectNoSecret('the events topic', JSON.stringify(events));
  const credentials = await readTopic<CredentialRecord | null>(ns.env.KAFKA_BROKERS!, topics.credentials);
  expect(credentials.map((m) => m.value?.kind)).toEqual(expect.arrayContaining(['password', 'enrollment-code']));
  expect(credentials.find((m) => m.value?.kind === 'enrollment-code')?.value).toMatchObject({ codeHash });

  await request(apps.command.url)
    .post('/v1/terminals/enroll')
    .send({ code: registered.body.enrollmentCode })
    .expect(201);
  const after = await readTopic<CredentialRecord | null>(ns.env.KAFKA_BROKERS!, topics.credentials);
  // Single use: the code's record is followed by a tombstone in the same partition.
  const forTerminal = after.filter(
    (m) =>
      m.value === null || (m.value.kind === 'enrollment-code' && m.value.terminalId === registered.body.terminalId),
  );
  expect(forTerminal.at(-1)?.value).toBeNull();
  await request(apps.command.url)
    .post('/v1/terminals/enroll')
    .send({ code: registered.body.enrollmentCode })
    .expect(422);
});

describe('a log written before credentials v2', () => {
  const userId = randomUUID();
  const terminalId = randomUUID();
  const code = 'LEGA-CY23-4567';
  let store = '';

  beforeAll(async () => {
    store = await api.store('LEGACY-1', await api.region('legacy'));
    const producer = createProducer(
      createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'legacy' }),
    );
    await producer.connect();
    const v1 = (type: string, aggregateType: string, aggregateId: string, data: object) => {
      const id = randomUUID();
      return {
        key: aggregateId,
        value: JSON.stringify({
          id,
          type,
          schemaVersion: 1,
          aggregateType,
          aggregateId,
          aggregateVersion: 1,
          occurredAt: new Date().toISOString(),
          actor: { id: 'admin:admin', role: 'hq-admin' },
          commandId: id,
          correlationId: id,
          causationId: id,
          data,
        }),
      };
    };
    const passwordHash = await hashPassword('legacy-password-1');
    const codeHash = sha256(normalisedCode(code));
    secrets.add(passwordHash).add(codeHash).add('legacy-password-1');
    await producer.send({
      topic: topics.events,
      acks: -1,
      messages: [
        v1('user.created', 'user', userId, { username: 'legacy-user', role: 'analyst', passwordHash }),
        v1('terminal.registered', 'terminal', terminalId, {
          storeId: store,
          name: 'Old till',
          roles: [],
          enrollmentCodeHash: codeHash,
          enrollmentExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      ],
    });
    await producer.disconnect();
  });

  it('hands out the old events upcast to v2, without their hashes, on replay and the CLI', async () => {
    const { text, events } = await eventually(async () => {
      const replayed = await replayAll('?type=user.created&type=terminal.registered');
      expect(replayed.events.map((e) => e.aggregateId)).toEqual(expect.arrayContaining([userId, terminalId]));
      return replayed;
    });
    expectNoSecret('GET /v1/events', text);
    expect(events.find((e) => e.aggregateId === userId)).toMatchObject({ schemaVersion: 2 });
    for (const format of ['ndjson', 'csv']) {
      const cli = await runCli(['replay', '--type', 'user.created,terminal.registered', '--format', format], {
        ...ns.env,
      });
      expect(cli.code).toBe(0);
      expect(cli.stdout).toContain(userId);
      expectNoSecret(`lastmeter replay --format ${format}`, cli.stdout + cli.stderr);
    }
  });

  it('logs in and enrolls only after `lastmeter credentials migrate`, which is idempotent', async () => {
    const login = () =>
      request(apps.command.url).post('/v1/auth/login').send({ username: 'legacy-user', password: 'legacy-password-1' });
    await eventually(async () => expect((await login()).status).toBe(401));

    const first = await runCli(['credentials', 'migrate'], { ...ns.env });
    expect(first.code).toBe(0);
    expect(first.stderr + first.stdout).toMatch(/2 credential\(s\) moved/);
    expectNoSecret('lastmeter credentials migrate', first.stdout + first.stderr);

    await eventually(() => login().expect(200));
    const enrolled = await request(apps.command.url).post('/v1/terminals/enroll').send({ code }).expect(201);
    expect(enrolled.body).toMatchObject({ terminalId, storeId: store });

    const again = await runCli(['credentials', 'migrate'], { ...ns.env });
    expect(again.stderr + again.stdout).toMatch(/0 credential\(s\) moved/);
  });
});

describe('the sweep: every event type, every read path', () => {
  let communicationId = '';
  let storeId = '';

  beforeAll(async () => {
    // The demo seed, then whatever it does not cover.
    const seeded = await seedDemo(apps.command.url, {
      username: 'admin',
      password: ns.env.LASTMETER_ADMIN_PASSWORD!,
    });
    for (const user of seeded.users) secrets.add(user.password);
    secrets.add(sha256(normalisedCode(seeded.terminal.enrollmentCode)));
    secrets.add(sha256(normalisedCode(seeded.screen.enrollmentCode)));
    const region = await api.region('sweep');
    storeId = await api.store('SWEEP-1', region);
    await api.updateStore(storeId, { name: 'Sweep store' });

    const device = await api.terminal(storeId);
    secrets.add(device.token);
    const doomed = await api.terminal(storeId);
    secrets.add(doomed.token);
    await api.revokeTerminal(doomed.terminalId);

    // The user lifecycle.
    const created = await request(apps.command.url)
      .post('/v1/users')
      .set(bearer(admin()))
      .send({ username: 'sweep-user', password: 'sweep-password-1', role: 'hq-editor' })
      .expect(201);
    secrets.add('sweep-password-1').add('sweep-password-2');
    const id = created.body.id as string;
    await request(apps.command.url)
      .post(`/v1/users/${id}/password`)
      .set(bearer(admin()))
      .send({ password: 'sweep-password-2' })
      .expect(200);
    await request(apps.command.url).patch(`/v1/users/${id}`).set(bearer(admin())).send({ role: 'analyst' }).expect(200);
    await request(apps.command.url).post(`/v1/users/${id}/disable`).set(bearer(admin())).send({}).expect(200);
    await request(apps.command.url).post(`/v1/users/${id}/enable`).set(bearer(admin())).send({}).expect(200);

    // A staff member's lifecycle (issue 21): their PIN is a secret, and once they are
    // erased their name must be nowhere either.
    const staffName = 'Sweepina Forgettable';
    // Six digits: a 4-digit PIN turns up by chance in ids and times of any log.
    secrets.add('739146').add('Sweepina').add('Forgettable');
    await api.staffLifecycle(
      storeId,
      { name: staffName, roles: ['cashier'], pin: '739146' },
      { roles: ['cashier', 'stock'], pin: '193764' },
    );
    secrets.add('193764');

    // Sockets: a console watching, and the store's tablet answering everything.
    const consoleSocket = io(`${apps.gateway.url}${CONSOLE_NAMESPACE}`, {
      auth: { token: admin() },
      transports: ['websocket'],
    });
    sockets.push(consoleSocket);
    consoleSocket.onAny((event: string, payload: unknown) => socketPayloads.push({ event, payload }));
    const received: FeedMessage[] = [];
    const client = new TerminalClient({ url: apps.gateway.url, token: device.token, cursors: new MemoryCursorStore() });
    clients.push(client);
    client.socket.onAny((event: string, payload: unknown) => socketPayloads.push({ event, payload }));
    client.onItem((item) => received.push(item));
    await client.connect();

    // A communication through its whole life: draft, revise, submit, reject, approve, publish, expire.
    const draft = await api.draft(
      {
        kind: 'training',
        title: 'Sweep quiz',
        audience: { storeIds: [storeId] },
        questions: [{ prompt: 'Two plus two?', options: ['3', '4'], answer: 1 }],
      },
      'agency',
    );
    communicationId = draft.id;
    await api.send('patch', `/v1/communications/${draft.id}`, { title: 'Sweep quiz, revised' }, 'agency');
    await api.send('post', `/v1/communications/${draft.id}/submit`, {}, 'agency');
    await api.send('post', `/v1/communications/${draft.id}/reject`, { reason: 'typo' });
    await api.send('patch', `/v1/communications/${draft.id}`, { body: 'Answer it' }, 'agency');
    await api.send('post', `/v1/communications/${draft.id}/submit`, {}, 'agency');
    await api.send('post', `/v1/communications/${draft.id}/approve`, {});
    await api.send('post', `/v1/communications/${draft.id}/publish`, {
      expiresAt: new Date(Date.now() + 6_000).toISOString(),
    });
    // A scheduled one, and a task that is retracted.
    await api.send(
      'post',
      `/v1/communications/${(await api.draft({ audience: { storeIds: [storeId] } })).id}/publish`,
      {
        publishAt: new Date(Date.now() + 2_000).toISOString(),
      },
    );
    const task = await api.publish({
      kind: 'task',
      title: 'Sweep task',
      audience: { storeIds: [storeId] },
      dueAt: new Date(Date.now() + 86_400_000).toISOString(),
    });

    // A suggested task a store manager assigns and dismisses (issue 21): task.assigned, task.dismissed.
    const suggested = await api.publish({
      kind: 'task',
      title: 'Sweep suggested task',
      audience: { storeIds: [storeId] },
      dueAt: new Date(Date.now() + 86_400_000).toISOString(),
      mandate: 'suggested',
    });
    const assignee = await request(apps.command.url)
      .post(`/v1/stores/${storeId}/staff`)
      .set(bearer(admin()))
      .send({ name: 'Sweep Assignee', roles: ['stock'], pin: '1357' })
      .expect(201);
    const storeManager = bearer(tokenFor(ns, 'store-manager', { storeId }));
    await eventually(() =>
      request(apps.command.url)
        .post(`/v1/stores/${storeId}/tasks/${suggested}/assign`)
        .set(storeManager)
        .send({ staffIds: [assignee.body.id] })
        .expect(200),
    );
    await request(apps.command.url)
      .post(`/v1/stores/${storeId}/tasks/${suggested}/dismiss`)
      .set(storeManager)
      .send({ reason: 'Not for this store' })
      .expect(200);

    // Due in a moment: communication.due-reached (and a `reminder` on the sockets).
    await api.publish({
      title: 'Sweep due soon',
      audience: { storeIds: [storeId] },
      dueAt: new Date(Date.now() + 3_000).toISOString(),
    });
    // A pulse survey, answered by a person signed in on the tablet (survey.answer, survey.answered).
    const survey = await api.publish({
      kind: 'survey',
      title: 'Sweep pulse',
      audience: { storeIds: [storeId] },
      survey: {
        questions: [
          { type: 'scale', prompt: 'How was the week?' },
          { type: 'text', prompt: 'Anything else?' },
        ],
      },
    });

    await eventually(() => {
      const ids = received.map((m) => ('communication' in m ? m.communication.id : ''));
      expect(ids).toEqual(expect.arrayContaining([communicationId, task, survey]));
    });
    const signedIn = await request(apps.command.url)
      .post(`/v1/stores/${storeId}/staff/${assignee.body.id}/sign-in`)
      .set(bearer(device.token))
      .send({ pin: '1357' })
      .expect(200);
    expect(
      await client.send('survey.answer', {
        communicationId: survey,
        revision: 1,
        answers: [4, 'More light in the stockroom'],
        staff: signedIn.body.token,
      }),
    ).toEqual({ ok: true });
    const revisionOf = (id: string) =>
      Math.max(
        ...received.map((m) => ('communication' in m && m.communication.id === id ? m.communication.revision : 0)),
      );
    for (const kind of ['delivered', 'read', 'acknowledged'] as const) {
      expect(await client.receipt({ communicationId, kind, revision: revisionOf(communicationId) })).toMatchObject({
        ok: true,
      });
    }
    expect(
      await client.send('quiz.answer', { communicationId, revision: revisionOf(communicationId), answers: [1] }),
    ).toMatchObject({
      ok: true,
    });
    expect(
      await client.send('task.complete', { communicationId: task, revision: revisionOf(task), note: 'done' }),
    ).toMatchObject({
      ok: true,
    });
    expect(await client.send('report.file', { title: 'Sweep report', body: 'All good' })).toMatchObject({ ok: true });
    // task.evidence-rejected: head office sends the completion back (issue 19).
    await api.send('post', `/v1/communications/${task}/evidence/${storeId}/reject`, { reason: 'Recount, please' });
    await api.retract(task);
    client.close(); // terminal.disconnected
    // Wait for the scheduler to publish and expire.
    await eventually(
      async () => {
        const types = new Set((await replayAll()).events.map((e) => e.type));
        expect(EVENT_TYPES.filter((type) => !types.has(type))).toEqual([]);
      },
      { timeoutMs: 60_000, what: 'every event type in the log' },
    );
  });

  it('GET /v1/events carries every event type and no credential material', async () => {
    const { text, events } = await replayAll();
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(EVENT_TYPES));
    expectNoSecret('GET /v1/events', text);
  });

  it('the audit CSVs and the CLI replay carry none', async () => {
    const communication = await request(apps.gateway.url)
      .get(`/v1/audit/communications/${communicationId}.csv`)
      .set(bearer(analyst()))
      .expect(200);
    expectNoSecret('the communication audit', communication.text);
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const store = await request(apps.gateway.url)
      .get(`/v1/audit/stores/${storeId}.csv?from=${from}&to=${new Date().toISOString()}`)
      .set(bearer(analyst()))
      .expect(200);
    expectNoSecret('the store audit', store.text);
    for (const format of ['ndjson', 'csv']) {
      const cli = await runCli(['replay', '--format', format], { ...ns.env });
      expect(cli.code).toBe(0);
      expectNoSecret(`lastmeter replay --format ${format}`, cli.stdout + cli.stderr);
    }
  });

  it('the read API carries none', async () => {
    const paths = [
      '/v1/users',
      '/v1/terminals',
      '/v1/stores',
      '/v1/regions',
      '/v1/communications',
      `/v1/communications/${communicationId}`,
      `/v1/communications/${communicationId}/reach`,
      `/v1/stores/${storeId}/feed`,
      `/v1/stores/${storeId}/staff?all=true`,
      '/v1/compliance',
      '/v1/presence',
      '/v1/reports',
    ];
    for (const path of paths) {
      const response = await request(apps.gateway.url).get(path).set(bearer(admin()));
      expect([200, 400]).toContain(response.status);
      expectNoSecret(path, response.text);
    }
  });

  it('the sockets carried none', () => {
    expect(socketPayloads.length).toBeGreaterThan(0);
    expectNoSecret('socket payloads', JSON.stringify(socketPayloads));
  });

  it('the read models in Redis hold none', async () => {
    const redis = createRedisClient(ns.env.REDIS_URL!, 'test-sweep');
    try {
      let seen = 0;
      for (const key of await suiteKeys(redis, ns)) {
        const type = await redis.type(key);
        const value =
          type === 'string'
            ? await redis.get(key)
            : type === 'hash'
              ? JSON.stringify(await redis.hgetall(key))
              : type === 'set'
                ? JSON.stringify(await redis.smembers(key))
                : type === 'zset'
                  ? JSON.stringify(await redis.zrange(key, 0, -1))
                  : type === 'list'
                    ? JSON.stringify(await redis.lrange(key, 0, -1))
                    : '';
        expectNoSecret(`Redis key ${key}`, `${key} ${value}`);
        seen++;
      }
      expect(seen).toBeGreaterThan(50);
    } finally {
      redis.disconnect();
    }
  });

  it("the apps' own logs carry none, not even the device tokens they verified", () => {
    for (const app of Object.values(apps)) {
      expect(app.output.length).toBeGreaterThan(0);
      expectNoSecret(`the ${app.name} log`, app.output.join('\n'));
    }
  });
});
