/**
 * @exclusive It starts a Kafka of its own and takes it down under the apps. (test/setup/e2e-environment.ts)
 */
import request from 'supertest';
import { JwtService } from '@nestjs/jwt';
import { topicNames, type CredentialRecord, type EventEnvelope } from '@lastmeter/contracts';
import { startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { readTopic } from '../support/log-reader';
import { PrivateInfra } from '../support/private-infra';
import { bearer, WriteApi } from '../support/write-api';

/** Logins, users, terminal enrollment and revocation, store reports, and Kafka outages. */
const ns = testNamespace('people');
const topics = topicNames(ns.topicPrefix);
let app: RunningApp;
let api: WriteApi;
let storeId: string;
let otherStoreId: string;

const login = (username: string, password: string) =>
  request(app.url).post('/v1/auth/login').send({ username, password });

beforeAll(async () => {
  app = await startApp('command', ns.env);
  api = new WriteApi(app.url, ns);
  const regionId = await api.region('west');
  storeId = await api.store('w-01', regionId, { tags: ['flagship'], timezone: 'Europe/Paris', locale: 'fr-FR' });
  otherStoreId = await api.store('w-02', regionId);
});

afterAll(async () => {
  await app?.stop();
  await cleanupNamespace(ns);
});

it('the configured admin logs in and gets an hq-admin token', async () => {
  const response = await login('admin', ns.env.LASTMETER_ADMIN_PASSWORD!).expect(200);
  expect(response.body).toEqual({ token: expect.any(String), role: 'hq-admin' });
  const claims = new JwtService({ secret: ns.env.LASTMETER_JWT_SECRET }).verify(response.body.token);
  expect(claims).toMatchObject({ role: 'hq-admin', iss: 'lastmeter' });
});

it('an admin creates a store manager, who logs in scoped to their store; the hash is a real KDF, kept out of the log', async () => {
  const admin = (await login('admin', ns.env.LASTMETER_ADMIN_PASSWORD!)).body.token as string;
  await request(app.url)
    .post('/v1/users')
    .set(bearer(admin))
    .send({ username: 'marie', password: 'marie-secret-1', role: 'store-manager', storeId })
    .expect(201);
  await request(app.url)
    .post('/v1/users')
    .set(bearer(admin))
    .send({ username: 'marie', password: 'another-pass-1', role: 'analyst' })
    .expect(409);
  const response = await login('marie', 'marie-secret-1').expect(200);
  expect(response.body).toMatchObject({ role: 'store-manager', storeId });
  await login('marie', 'wrong-password').expect(401);
  await login('nobody', 'whatever').expect(401);

  const created = (await readTopic(ns.env.KAFKA_BROKERS!, topics.events))
    .map((m) => m.value)
    .find((e) => e.type === 'user.created') as EventEnvelope<string, Record<string, unknown>>;
  expect(created.data).toEqual({ username: 'marie', role: 'store-manager', storeId });
  expect(JSON.stringify(created)).not.toMatch(/scrypt|marie-secret-1/);
  // The hash is in the compacted credentials topic, keyed by the user, in the same partition.
  const credentials = await readTopic<CredentialRecord>(ns.env.KAFKA_BROKERS!, topics.credentials);
  const record = credentials.find((m) => m.value?.kind === 'password' && m.value.userId === created.aggregateId);
  expect(record?.value).toMatchObject({ kind: 'password', passwordHash: expect.stringMatching(/^scrypt\$32768\$/) });
  expect(JSON.stringify(record)).not.toContain('marie-secret-1');
});

it('throttles repeated logins for one user (429) while others still log in', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await login('mallory', `guess-${i}`)).status);
  expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
  expect(statuses.slice(10)).toEqual([429, 429]);
  await login('admin', ns.env.LASTMETER_ADMIN_PASSWORD!).expect(200);
});

it('enrolls a terminal with a single-use code into a device token bound to its store, and revokes it', async () => {
  const admin = api.token('hq-admin');
  const issued = await request(app.url)
    .post('/v1/terminals')
    .set(bearer(admin))
    .send({ storeId, name: 'Till 1', roles: ['cashier'] })
    .expect(201);
  expect(issued.body).toEqual({
    terminalId: expect.any(String),
    enrollmentCode: expect.stringMatching(/^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}$/),
    expiresAt: expect.any(String),
    version: 1,
  });
  expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);

  const enrolled = await request(app.url)
    .post('/v1/terminals/enroll')
    .send({ code: issued.body.enrollmentCode.toLowerCase() })
    .expect(201);
  expect(enrolled.body).toEqual({ token: expect.any(String), terminalId: issued.body.terminalId, storeId });
  const claims = new JwtService({ secret: ns.env.LASTMETER_JWT_SECRET }).verify(enrolled.body.token);
  expect(claims).toMatchObject({ sub: issued.body.terminalId, role: 'terminal', storeId, roles: ['cashier'] });

  // Single use.
  await request(app.url).post('/v1/terminals/enroll').send({ code: issued.body.enrollmentCode }).expect(422);
  // A device token may not use command routes.
  await request(app.url).post('/v1/communications').set(bearer(enrolled.body.token)).send({}).expect(403);

  await request(app.url).delete(`/v1/terminals/${issued.body.terminalId}`).set(bearer(admin)).expect(200);
  await request(app.url).delete(`/v1/terminals/${issued.body.terminalId}`).set(bearer(admin)).expect(422);
  const types = (await readTopic(ns.env.KAFKA_BROKERS!, topics.events))
    .map((m) => m.value)
    .filter((e) => e.aggregateId === issued.body.terminalId)
    .map((e) => e.type);
  expect(types).toEqual(['terminal.registered', 'terminal.enrolled', 'terminal.revoked']);
});

it('a store manager files a report for their store, once per Idempotency-Key, and not for another store', async () => {
  const manager = api.token('store-manager', { storeId, sub: 'manager-1' });
  const send = () =>
    request(app.url)
      .post(`/v1/stores/${storeId}/reports`)
      .set({ ...bearer(manager), 'Idempotency-Key': 'report-1' })
      .send({ title: 'Freezer alarm', body: 'Freezer 2 alarms every night.' });
  const first = await send().expect(201);
  const again = await send().expect(201);
  expect(again.body).toEqual(first.body);
  await request(app.url)
    .post(`/v1/stores/${otherStoreId}/reports`)
    .set(bearer(manager))
    .send({ title: 'x', body: 'y' })
    .expect(403);
  const reports = (await readTopic(ns.env.KAFKA_BROKERS!, topics.storeEvents)).map((m) => m.value);
  // Once: two requests with the key, one report in the log (a consumer would keep one
  // anyway, but the producer must not even write it twice).
  expect(reports).toHaveLength(1);
  expect(reports[0]).toMatchObject({ type: 'report.filed', id: first.body.eventIds[0] });
  expect(reports[0]).toMatchObject({ data: { storeId, title: 'Freezer alarm', authorId: 'manager-1' } });
});

it('documents the command routes in OpenAPI', async () => {
  const { body } = await request(app.url).get('/docs-json').expect(200);
  expect(Object.keys(body.paths)).toEqual(
    expect.arrayContaining([
      '/v1/auth/login',
      '/v1/users',
      '/v1/regions',
      '/v1/stores',
      '/v1/stores/{id}',
      '/v1/terminals',
      '/v1/terminals/enroll',
      '/v1/terminals/{id}',
      '/v1/communications',
      '/v1/communications/{id}',
      '/v1/communications/{id}/publish',
      '/v1/stores/{storeId}/reports',
    ]),
  );
});

describe('when Kafka is unreachable', () => {
  const outage = testNamespace('people-outage');
  let infra: PrivateInfra;
  let isolated: RunningApp;

  beforeAll(async () => {
    infra = await PrivateInfra.start();
    outage.env.KAFKA_BROKERS = infra.kafka.brokers;
    outage.env.REDIS_URL = infra.redis.url;
    isolated = await startApp('command', outage.env);
    // Let it finish start-up (topics, decider) while Kafka is still there.
    await new WriteApi(isolated.url, outage).draft({ title: 'Before the outage' });
  });

  afterAll(async () => {
    await isolated?.stop();
    await infra?.stop();
  });

  it('answers 503 with Retry-After and records nothing', async () => {
    await infra.kafka.kill();
    const response = await request(isolated.url)
      .post('/v1/communications')
      .set(bearer(new WriteApi(isolated.url, outage).token('hq-editor')))
      .send({ kind: 'notice', title: 'During the outage', body: 'b', audience: { all: true } });
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });

    await infra.kafka.start();
    const outageTopics = topicNames(outage.topicPrefix);
    const commands = (await readTopic<{ payload: { title: string } }>(infra.kafka.brokers, outageTopics.commands)).map(
      (m) => m.value,
    );
    const events = (await readTopic(infra.kafka.brokers, outageTopics.events)).map((m) => m.value);
    expect(commands.map((c) => c.payload.title)).toEqual(['Before the outage']);
    expect(events.map((e) => e.type)).toEqual(['communication.drafted']);
  });
});
