import request from 'supertest';
import { topicNames, type EventEnvelope } from '@lastmeter/contracts';
import { startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { readTopic } from '../support/log-reader';
import { expectNothingWritten, writeSnapshot } from '../support/no-writes';
import { bearer, WriteApi } from '../support/write-api';

/**
 * The single-writer invariant across instances: two command services, one decider
 * group; commands that expect the same version can never both succeed, and no event is
 * ever appended twice.
 */
const ns = testNamespace('concurrency');
const topics = topicNames(ns.topicPrefix);
let a: RunningApp;
let b: RunningApp;
let api: WriteApi;

beforeAll(async () => {
  [a, b] = await Promise.all([startApp('command', ns.env), startApp('command', ns.env)]);
  api = new WriteApi(a.url, ns);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await cleanupNamespace(ns);
});

async function eventsOf(aggregateId: string): Promise<EventEnvelope[]> {
  return (await readTopic(ns.env.KAFKA_BROKERS!, topics.events))
    .map((m) => m.value)
    .filter((e) => e.aggregateId === aggregateId);
}

it('20 concurrent revisions expecting the same version, over 2 instances: one succeeds, 19 get 409', async () => {
  const { id, version } = await api.draft();
  const editor = api.token('hq-editor');
  const responses = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      request(i % 2 === 0 ? a.url : b.url)
        .patch(`/v1/communications/${id}`)
        .set({ ...bearer(editor), 'If-Match': String(version) })
        .send({ title: `Revision by client ${i}` }),
    ),
  );
  const statuses = responses.map((r) => r.status).sort();
  expect(statuses.filter((s) => s === 200)).toHaveLength(1);
  expect(statuses.filter((s) => s === 409)).toHaveLength(19);
  for (const conflict of responses.filter((r) => r.status === 409)) {
    expect(conflict.body).toMatchObject({ statusCode: 409, error: 'Conflict', currentVersion: 2 });
  }

  const events = await eventsOf(id);
  expect(events.map((e) => e.aggregateVersion)).toEqual([1, 2]);
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
});

it('keeps versions gap-free under concurrent unconditional changes from both instances', async () => {
  const { id } = await api.draft();
  const editor = api.token('hq-editor');
  const responses = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      request(i % 2 === 0 ? a.url : b.url)
        .patch(`/v1/communications/${id}`)
        .set(bearer(editor))
        .send({ title: `Unconditional ${i}` }),
    ),
  );
  expect(responses.every((r) => r.status === 200)).toBe(true);
  const versions = responses.map((r) => r.body.version as number).sort((x, y) => x - y);
  expect(versions).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
  const events = await eventsOf(id);
  expect(events.map((e) => e.aggregateVersion)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
});

it('the same Idempotency-Key sent 10 times at once appends one set of events and answers the same', async () => {
  const editor = api.token('hq-editor');
  const body = { kind: 'notice', title: 'Once only', body: 'Exactly once', audience: { all: true } };
  const responses = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      request(i % 2 === 0 ? a.url : b.url)
        .post('/v1/communications')
        .set({ ...bearer(editor), 'Idempotency-Key': 'draft-once-1' })
        .send(body),
    ),
  );
  expect(responses.map((r) => r.status)).toEqual(Array(10).fill(201));
  const bodies = new Set(responses.map((r) => JSON.stringify(r.body)));
  expect(bodies.size).toBe(1);
  const { id } = responses[0].body as { id: string };

  const publish = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      request(i % 2 === 0 ? a.url : b.url)
        .post(`/v1/communications/${id}/publish`)
        .set({ ...bearer(editor), 'Idempotency-Key': 'publish-once-1' })
        .send({}),
    ),
  );
  expect(publish.map((r) => r.status)).toEqual(Array(10).fill(200));
  expect(new Set(publish.map((r) => JSON.stringify(r.body))).size).toBe(1);

  const events = await eventsOf(id);
  expect(events.map((e) => e.type)).toEqual([
    'communication.drafted',
    'communication.approved',
    'communication.published',
  ]);
});

it('the same Idempotency-Key with a different body is refused with 422 and appends nothing', async () => {
  const editor = api.token('hq-editor');
  const first = await request(a.url)
    .post('/v1/communications')
    .set({ ...bearer(editor), 'Idempotency-Key': 'reused-key' })
    .send({ kind: 'notice', title: 'First', body: 'b', audience: { all: true } });
  expect(first.status).toBe(201);
  // Every fact topic, not only this aggregate: nothing anywhere may be appended.
  const before = await writeSnapshot(ns);
  const second = await request(b.url)
    .post('/v1/communications')
    .set({ ...bearer(editor), 'Idempotency-Key': 'reused-key' })
    .send({ kind: 'notice', title: 'Second', body: 'b', audience: { all: true } });
  expect(second.status).toBe(422);
  expect(second.body.message).toMatch(/Idempotency-Key/);
  await expectNothingWritten(ns, before);
  expect((await eventsOf(first.body.id)).map((e) => e.aggregateVersion)).toEqual([1]);
});
