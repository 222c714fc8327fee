import { randomUUID } from 'node:crypto';
import request from 'supertest';
import fixture from '../../libs/contracts/fixtures/communication.drafted.v1.json';
import { topicNames, type DomainEvent } from '@lastmeter/contracts';
import { ACKS_ALL, createKafkaClient, createProducer } from '@lastmeter/kafka';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { settled } from '../support/read-side';
import { bearer, Publisher } from '../support/write-api';

/** `asOf` answers against a reference folded from the Kafka log up to the same instant. */
const ns = testNamespace('asof');
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: Publisher;

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
});

afterAll(async () => {
  await stopApps(apps);
  await cleanupNamespace(ns);
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const analyst = () => bearer(api.token('analyst'));

/** Instants around every entry: just before, at, just after, and the middle of each gap. */
function instantsAround(times: number[]): number[] {
  const sorted = [...new Set(times)].sort((a, b) => a - b);
  const around = sorted.flatMap((t) => [t - 1, t, t + 1]);
  const middles = sorted.slice(1).map((t, i) => Math.floor((t + sorted[i]) / 2));
  return [sorted[0] - 60_000, ...around, ...middles, sorted.at(-1)! + 60_000];
}

it("answers a store's feed at many instants exactly as a fold of the log up to each", async () => {
  const region = await api.region('travel');
  const store = await api.store('TT1', region);
  const a = await api.publish({ title: 'A', audience: { storeIds: [store] } });
  await pause(150);
  const b = await api.publish({ title: 'B', audience: { regionIds: [region] } });
  await pause(150);
  await api.revise(a, { title: 'A, revised' });
  await pause(150);
  await api.retract(b);
  await pause(150);
  const c = await api.publish(
    { title: 'C, short-lived', audience: { all: true } },
    { expiresAt: new Date(Date.now() + 1_500).toISOString() },
  );
  await pause(150);
  await api.publish({ title: 'D', audience: { storeIds: [store] } });
  await api.revise(a, { body: 'second revision' });
  // Wait for C's expiry entry, then for everything to be projected.
  await eventually(async () => {
    const entries = await readTopic<DomainEvent<'feed.appended'>>(ns.env.KAFKA_BROKERS!, topics.feed);
    expect(entries.some(({ value }) => value.data.communication.id === c && value.data.change === 'expired')).toBe(
      true,
    );
  });
  await settled(ns, apps.projector);

  const log = (await readTopic<DomainEvent<'feed.appended'>>(ns.env.KAFKA_BROKERS!, topics.feed))
    .map(({ value }) => value)
    .filter((entry) => entry.data.storeId === store);
  const reference = (t: number) => {
    const latest = new Map<string, DomainEvent<'feed.appended'>>();
    for (const entry of log) if (Date.parse(entry.occurredAt) <= t) latest.set(entry.data.communication.id, entry);
    return [...latest.values()]
      .filter(({ data }) => data.change === 'published' || data.change === 'revised')
      .filter(({ data }) => !data.communication.expiresAt || Date.parse(data.communication.expiresAt) > t)
      .sort((x, y) => x.data.feedSeq - y.data.feedSeq)
      .map(({ data }) => [data.feedSeq, data.communication.id, data.communication.revision]);
  };
  const instants = instantsAround(log.map((entry) => Date.parse(entry.occurredAt)));
  const answers = new Set<string>();
  for (const t of instants) {
    const asOf = new Date(t).toISOString();
    const response = await request(apps.gateway.url).get(`/v1/stores/${store}/feed`).query({ asOf }).set(analyst());
    expect(response.status).toBe(200);
    const actual = response.body.items.map(
      (i: { feedSeq: number; communication: { id: string; revision: number } }) => [
        i.feedSeq,
        i.communication.id,
        i.communication.revision,
      ],
    );
    expect({ asOf, items: actual }).toEqual({ asOf, items: reference(t) });
    answers.add(JSON.stringify(actual));
  }
  // The instants really cover different states (empty, A, A+B, revisions, C live then gone, ...).
  expect(answers.size).toBeGreaterThanOrEqual(6);
  const bad = await request(apps.gateway.url)
    .get(`/v1/stores/${store}/feed`)
    .query({ asOf: 'noon', after: 3 })
    .set(analyst());
  expect(bad.status).toBe(400);
});

it('answers a communication at many instants exactly as it stood after each step the test took, a v1 event included', async () => {
  // A communication whose history starts with a schemaVersion 1 event from an older release.
  const id = randomUUID();
  const regionId = await api.region('v1-region');
  const v1 = { ...fixture, id: randomUUID(), aggregateId: id, occurredAt: new Date().toISOString() };
  v1.data = { ...fixture.data, audience: { scope: 'regions', ids: [regionId] } };
  const producer = createProducer(
    createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'asof-test' }),
  );
  await producer.connect();
  await producer.send({ topic: topics.events, acks: ACKS_ALL, messages: [{ key: id, value: JSON.stringify(v1) }] });
  await producer.disconnect();
  await pause(150);
  await eventually(async () => {
    const response = await request(apps.command.url)
      .patch(`/v1/communications/${id}`)
      .set({ ...bearer(api.token('hq-editor')), 'If-Match': '1' })
      .send({ title: 'Autumn labels, revised' });
    expect(response.status).toBe(200);
  });
  await pause(150);
  await api.send('post', `/v1/communications/${id}/publish`, {});
  await pause(150);
  await api.retract(id);
  await settled(ns, apps.projector);

  // The reference, written out by hand from what the test did: each event it caused and
  // the communication as it stood right after it. Only the instants come from the log.
  const drafted = { revision: 1, title: fixture.data.title, body: fixture.data.text };
  const revised = { ...drafted, revision: 2, title: 'Autumn labels, revised' };
  const steps = [
    ['communication.drafted', { status: 'drafted', ...drafted }], // the v1 event written above
    ['communication.revised', { status: 'drafted', ...revised }], // PATCH title, If-Match: 1
    ['communication.approved', { status: 'approved', ...revised }], // publish by an editor: approves...
    ['communication.published', { status: 'published', ...revised }], // ...and publishes revision 2
    ['communication.retracted', { status: 'retracted', ...revised }], // retract
  ] as const;
  const events = (await readTopic<DomainEvent>(ns.env.KAFKA_BROKERS!, topics.events))
    .map(({ value }) => value)
    .filter((event) => event.aggregateId === id);
  // The log holds exactly these steps, in order (the first as written: schema version 1).
  expect(events.map((event) => event.type)).toEqual(steps.map(([type]) => type));
  expect(events[0].schemaVersion).toBe(1);
  const reference = (t: number) => {
    let state: (typeof steps)[number][1] | undefined;
    for (let i = 0; i < events.length; i++) if (Date.parse(events[i].occurredAt) <= t) state = steps[i][1];
    return state;
  };
  for (const t of instantsAround(events.map((event) => Date.parse(event.occurredAt)))) {
    const asOf = new Date(t).toISOString();
    const response = await request(apps.gateway.url).get(`/v1/communications/${id}`).query({ asOf }).set(analyst());
    const expected = reference(t);
    if (!expected) {
      expect({ asOf, status: response.status }).toEqual({ asOf, status: 404 });
      continue;
    }
    expect(response.status).toBe(200);
    const { status, revision, title, body } = response.body;
    expect({ asOf, state: { status, revision, title, body } }).toEqual({ asOf, state: expected });
  }
});
