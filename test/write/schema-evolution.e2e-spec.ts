import { randomUUID } from 'node:crypto';
import request from 'supertest';
import fixture from '../../libs/contracts/fixtures/communication.drafted.v1.json';
import { topicNames } from '@lastmeter/contracts';
import { ACKS_ALL, createKafkaClient, createProducer, ensureTopicsAt } from '@lastmeter/kafka';
import { startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { readTopic } from '../support/log-reader';
import { bearer, WriteApi } from '../support/write-api';

/** A v1 event already in the log replays forever: the command service builds on it. */
const ns = testNamespace('schema');
const topics = topicNames(ns.topicPrefix);
let app: RunningApp;

afterAll(async () => {
  await app?.stop();
  await cleanupNamespace(ns);
});

it('a communication drafted under schemaVersion 1 is revised and published after a restart', async () => {
  const brokers = ns.env.KAFKA_BROKERS!.split(',');
  await ensureTopicsAt(brokers, topics, { partitions: 3, replicationFactor: 1 });
  // The region the old event targets, and the old event itself, as they sit in the log.
  const bootstrap = await startApp('command', ns.env);
  const regionId = await new WriteApi(bootstrap.url, ns).region('autumn');
  await bootstrap.stop();
  const aggregateId = randomUUID();
  const old = {
    ...fixture,
    id: randomUUID(),
    aggregateId,
    data: { ...fixture.data, audience: { scope: 'regions', ids: [regionId] } },
  };
  const producer = createProducer(createKafkaClient({ brokers, clientId: 'schema-test' }));
  await producer.connect();
  await producer.send({
    topic: topics.events,
    acks: ACKS_ALL,
    messages: [{ key: aggregateId, value: JSON.stringify(old) }],
  });
  await producer.disconnect();

  app = await startApp('command', ns.env);
  const editor = new WriteApi(app.url, ns).token('hq-editor');
  const revised = await request(app.url)
    .patch(`/v1/communications/${aggregateId}`)
    .set({ ...bearer(editor), 'If-Match': '1' })
    .send({ title: 'Autumn price labels (aisle 3 and 4)' });
  expect(revised.status).toBe(200);
  expect(revised.body.version).toBe(2);
  const published = await request(app.url)
    .post(`/v1/communications/${aggregateId}/publish`)
    .set(bearer(editor))
    .send({});
  expect(published.status).toBe(200);

  const events = (await readTopic(ns.env.KAFKA_BROKERS!, topics.events))
    .map((m) => m.value)
    .filter((e) => e.aggregateId === aggregateId);
  expect(events.map((e) => [e.type, e.schemaVersion, e.aggregateVersion])).toEqual([
    ['communication.drafted', 1, 1],
    ['communication.revised', 1, 2],
    ['communication.approved', 1, 3],
    ['communication.published', 1, 4],
  ]);
});
