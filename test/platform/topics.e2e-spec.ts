import type { Admin } from 'kafkajs';
import { TOPICS, topicNames } from '@lastmeter/contracts';
import { createKafkaClient, describeTopics, ensureTopics } from '@lastmeter/kafka';
import { startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { eventually } from '../support/eventually';
import { testNamespace } from '../support/env';

const ns = testNamespace('topics', { KAFKA_PARTITIONS: '5' });
const names = topicNames(ns.topicPrefix);
let admin: Admin;
let app: RunningApp | undefined;

beforeAll(async () => {
  admin = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'topics-test' }).admin();
  await admin.connect();
});

afterAll(async () => {
  await app?.stop();
  await admin.disconnect();
  await cleanupNamespace(ns);
});

it('an app creates the seven topics of the contract with the configured partitions, retention and compaction', async () => {
  app = await startApp('command', ns.env);
  const topics = await eventually(async () => {
    const described = await describeTopics(admin, names);
    expect(described).toHaveLength(7);
    return described;
  });
  const byName = Object.fromEntries(topics.map((topic) => [topic.name, topic]));
  expect(byName[`${ns.topicPrefix}lastmeter.commands.v1`]).toMatchObject({
    partitions: 5,
    config: { 'retention.ms': '604800000' },
  });
  expect(byName[`${ns.topicPrefix}lastmeter.events.v1`]).toMatchObject({
    partitions: 5,
    config: { 'retention.ms': '-1' },
  });
  expect(byName[`${ns.topicPrefix}lastmeter.store-events.v1`]).toMatchObject({
    partitions: 5,
    config: { 'retention.ms': '-1' },
  });
  expect(byName[`${ns.topicPrefix}lastmeter.feed.v1`]).toMatchObject({
    partitions: 5,
    config: { 'retention.ms': '-1' },
  });
  expect(byName[`${ns.topicPrefix}lastmeter.dlq.v1`]).toMatchObject({
    partitions: 5,
    config: { 'retention.ms': '2592000000' },
  });
  // Secrets: overwritten on change, deleted by tombstones, never kept as history.
  expect(byName[`${ns.topicPrefix}lastmeter.credentials.v1`]).toMatchObject({
    partitions: 5,
    config: { 'cleanup.policy': 'compact' },
  });
  // People's keys (issue 21): compacted, and a deleted key off the disks within about a day.
  expect(byName[`${ns.topicPrefix}lastmeter.person-keys.v1`]).toMatchObject({
    partitions: 5,
    config: { 'cleanup.policy': 'compact', 'segment.ms': '3600000', 'max.compaction.lag.ms': '86400000' },
  });
});

it('ensuring the topics again, from several processes at once, changes nothing and fails nothing', async () => {
  const before = await describeTopics(admin, names);
  const results = await Promise.all(
    [1, 2, 3].map(() => ensureTopics(admin, names, { partitions: 7, replicationFactor: 1 })),
  );
  expect(results).toEqual([[], [], []]);
  const after = await describeTopics(admin, names);
  expect(after.map((t) => t.partitions)).toEqual(before.map((t) => t.partitions));
  expect(after.find((t) => t.name === names.events)?.config['retention.ms']).toBe(TOPICS.events.config['retention.ms']);
});

it('restores a retention that drifted', async () => {
  const { ConfigResourceTypes } = await import('kafkajs');
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      { type: ConfigResourceTypes.TOPIC, name: names.dlq, configEntries: [{ name: 'retention.ms', value: '1000' }] },
    ],
  });
  await ensureTopics(admin, names, { partitions: 5, replicationFactor: 1 });
  const dlq = (await describeTopics(admin, names)).find((t) => t.name === names.dlq);
  expect(dlq?.config['retention.ms']).toBe(TOPICS.dlq.config['retention.ms']);
});
