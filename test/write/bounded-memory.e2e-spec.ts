import Redis from 'ioredis';
import request from 'supertest';
import { topicNames, type EventEnvelope } from '@lastmeter/contracts';
import { startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { eventually } from '../support/eventually';
import { testNamespace } from '../support/env';
import { readTopic } from '../support/log-reader';
import { bearer, Publisher } from '../support/write-api';

/**
 * The command service keeps at most COMMAND_CACHE_AGGREGATES terminals and users in memory
 * (issue 16, item 3); the rest are snapshots in Redis, and start-up reads the events topic
 * from the snapshots' checkpoints. With a cache of 2 and 8 terminals, most terminals are
 * out of memory whenever a session check, an enrollment, a revocation or a replay needs them.
 */
const ns = testNamespace('bounded-memory', { COMMAND_CACHE_AGGREGATES: '2' });
const topics = topicNames(ns.topicPrefix);
const tag = `{${ns.keyPrefix}write:${topics.events}}`;
let app: RunningApp | undefined;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(ns.env.REDIS_URL!);
});

afterAll(async () => {
  await app?.stop();
  redis.disconnect();
  await cleanupNamespace(ns);
});

async function events(): Promise<EventEnvelope[]> {
  return (await readTopic(ns.env.KAFKA_BROKERS!, topics.events)).map((m) => m.value);
}

/** What a session check of this terminal token answers on the command API. */
async function sessionOf(token: string): Promise<{ status: number; message: string }> {
  const response = await request(app!.url)
    .post('/v1/communications')
    .set(bearer(token))
    .send({ kind: 'notice', title: 'x', body: 'x', audience: { all: true } });
  return { status: response.status, message: String(response.body?.message ?? '') };
}

it('serves terminals that are out of memory from snapshots, before and after a SIGKILL, and answers replays the same', async () => {
  app = await startApp('command', ns.env);
  const api = new Publisher(app.url, ns);
  const region = await eventually(() => api.region('north'), { timeoutMs: 60_000, what: 'the region' });
  const store = await api.store('N-1', region);
  const terminals: Array<{ terminalId: string; token: string }> = [];
  for (let i = 0; i < 8; i++) terminals.push(await api.terminal(store, ['cashier']));
  const [revoked, ...active] = terminals;
  await api.revokeTerminal(revoked!.terminalId);
  const registration = await request(app.url)
    .post('/v1/terminals')
    .set(bearer(api.token('hq-admin')))
    .send({ storeId: store, name: 'Spare till', roles: ['sales'] })
    .expect(201);
  const notice = { kind: 'notice', title: 'Before the restart', body: 'b', audience: { all: true } };
  const draft = await request(app.url)
    .post('/v1/communications')
    .set({ ...bearer(api.token('hq-editor')), 'Idempotency-Key': 'before-restart' })
    .send(notice)
    .expect(201);

  // Every terminal is in the snapshots and the checkpoints cover the log.
  await eventually(
    async () => {
      expect(await redis.hlen(`${tag}:agg:terminal`)).toBe(9);
      expect(Object.keys(await redis.hgetall(`${tag}:checkpoints`)).length).toBeGreaterThan(0);
    },
    { timeoutMs: 30_000, what: 'the snapshots' },
  );
  // Session checks read terminals the cache no longer holds: revoked is refused, the others pass to the role check.
  expect(await sessionOf(revoked!.token)).toEqual({ status: 401, message: 'terminal revoked' });
  for (const { token } of active) expect((await sessionOf(token)).status).toBe(403);

  const before = await events();
  await app.kill();
  app = await startApp('command', ns.env);

  // Start-up restored from the snapshots, not from offset 0.
  await eventually(
    async () =>
      expect(app!.logs().some((line) => /restored \d+ aggregates from snapshots/.test(String(line.msg)))).toBe(true),
    { timeoutMs: 30_000, what: 'the restore' },
  );
  expect(await sessionOf(revoked!.token)).toEqual({ status: 401, message: 'terminal revoked' });
  for (const { token } of active) expect((await sessionOf(token)).status).toBe(403);

  // A replay of a command from before the restart answers its first outcome and appends nothing.
  const replay = await request(app.url)
    .post('/v1/communications')
    .set({ ...bearer(api.token('hq-editor')), 'Idempotency-Key': 'before-restart' })
    .send(notice);
  expect(replay.status).toBe(201);
  expect(replay.body).toEqual(draft.body);

  // Terminals out of memory still take commands: the spare one enrolls, an active one is revoked.
  const enrolled = await request(app.url)
    .post('/v1/terminals/enroll')
    .send({ code: registration.body.enrollmentCode })
    .expect(201);
  expect(enrolled.body.terminalId).toBe(registration.body.terminalId);
  await new Publisher(app.url, ns).revokeTerminal(active[0]!.terminalId);
  expect(await sessionOf(active[0]!.token)).toEqual({ status: 401, message: 'terminal revoked' });

  // Each fact is in the log once, with versions in sequence per aggregate.
  const after = await events();
  const known = new Set(before.map((event) => event.id));
  const fresh = after.filter((event) => !known.has(event.id));
  expect(fresh.map((event) => event.type).sort()).toEqual(['terminal.enrolled', 'terminal.revoked']);
  const ids = after.map((event) => event.id);
  expect(new Set(ids).size).toBe(ids.length);
  const versions = new Map<string, number[]>();
  for (const event of after) {
    const key = `${event.aggregateType}/${event.aggregateId}`;
    versions.set(key, [...(versions.get(key) ?? []), event.aggregateVersion]);
  }
  for (const list of versions.values()) expect(list).toEqual(list.map((_, i) => i + 1));
});
