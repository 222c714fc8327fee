/**
 * @exclusive It starts Kafka brokers of its own and kills one while the apps work. (test/setup/e2e-environment.ts)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { topicNames, type DomainEvent, type FeedMessage } from '@lastmeter/contracts';
import { ensureKafkaJars, lastmeterHome, LocalKafkaCluster } from '@lastmeter/infra';
import { createKafkaClient } from '@lastmeter/kafka';
import type { TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { recordingTerminal } from '../support/recording-terminal';
import { requireEnv, testNamespace, type TestNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { CarefulWriter } from '../support/careful-write';
import { Publisher } from '../support/write-api';

/**
 * Issue 18 item 5, the chaos case that runs in CI: on a three-broker KRaft cluster
 * (replication factor 3, min.insync.replicas 2, acks=all), one broker is killed with
 * SIGKILL while head office publishes to 50 connected terminals, and started again.
 * Every terminal gets every item of its store once, in order, as the feed topic has it;
 * publishes that met the failover are retried with their Idempotency-Key and happen once.
 */
const root = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'kafka-cluster-'));
const STORES = 5;
const TERMINALS_PER_STORE = 10;
const PUBLISHES = 18;
let cluster: LocalKafkaCluster;
let ns: TestNamespace;
let apps: Record<AppName, RunningApp>;
let api: Publisher;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  const jars = process.env.LASTMETER_KAFKA_JARS ?? (await ensureKafkaJars(lastmeterHome().kafkaJars)).libs;
  cluster = await LocalKafkaCluster.startNew({
    dataDir: join(root, 'data'),
    logDir: join(root, 'logs'),
    jarsDir: jars,
  });
  ns = testNamespace('kafka-cluster', { KAFKA_BROKERS: cluster.brokers, KAFKA_REPLICATION_FACTOR: '3' });
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
}, 240_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await stopApps(apps);
  if (ns) await cleanupNamespace(ns).catch(() => undefined);
  await cluster?.stop();
  rmSync(root, { recursive: true, force: true });
}, 120_000);

it('loses and duplicates nothing for 50 terminals when a broker is killed under publishing', async () => {
  // The topics really are replicated three times, two in sync required.
  const admin = createKafkaClient({ brokers: cluster.brokers.split(','), clientId: 'test-cluster' }).admin();
  await admin.connect();
  const topics = topicNames(ns.topicPrefix);
  // Topics the apps just created reach every broker's metadata cache a moment later: the
  // broker asked may answer "does not host this topic-partition" until then.
  const metadata = await eventually(() => admin.fetchTopicMetadata({ topics: [topics.events, topics.feed] }), {
    timeoutMs: 30_000,
    what: 'the topics in the metadata of the broker asked',
  });
  for (const topic of metadata.topics) {
    for (const partition of topic.partitions) expect(partition.replicas).toHaveLength(3);
    // The broker killed below (node 2) leads some of them: the kill moves leaders.
    expect(topic.partitions.map((p) => p.leader)).toContain(2);
  }
  const [config] = (
    await admin.describeConfigs({
      resources: [{ type: 2, name: topics.feed, configNames: ['min.insync.replicas'] }],
      includeSynonyms: false,
    })
  ).resources;
  await admin.disconnect();
  expect(config.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue).toBe('2');

  const region = await api.region('cluster');
  const stores: string[] = [];
  for (let s = 0; s < STORES; s++) stores.push(await api.store(`C${s}`, region));
  const terminals: Array<{ storeId: string; received: FeedMessage[] }> = [];
  for (const storeId of stores) {
    for (let t = 0; t < TERMINALS_PER_STORE; t++) {
      terminals.push(await recordingTerminal(api, apps.gateway.url, storeId, clients));
    }
  }
  expect(terminals).toHaveLength(50);

  const writer = new CarefulWriter(apps.command.url, api);
  const published: string[] = [];
  const victim = cluster.nodes[1]!;
  let restarted: Promise<void> | undefined;
  for (let i = 0; i < PUBLISHES; i++) {
    if (i === 6) await victim.kill(); // SIGKILL: no controlled shutdown, leaders move
    if (i === 12) restarted = victim.start(120_000); // back while publishing goes on
    published.push(await writer.publish(`cluster ${i}`));
  }
  await restarted;

  // The log: every publish decided once, each store's feed gap-free.
  const feed = await eventually(
    async () => {
      const entries = await readTopic<DomainEvent<'feed.appended'>>(cluster.brokers, topics.feed);
      // Compact, so that a failure shows every entry: `feedSeq change title @ occurredAt, partition`.
      const first = entries
        .filter((e) => e.value.data.storeId === stores[0])
        .map(
          ({ partition, value: { data, occurredAt } }) =>
            `${data.feedSeq} ${data.change} ${data.communication.title} @ ${occurredAt}, ${partition}`,
        );
      expect(first).toHaveLength(PUBLISHES);
      return entries;
    },
    { timeoutMs: 60_000, what: 'every feed entry in the log' },
  );
  for (const storeId of stores) {
    const entries = feed.filter((e) => e.value.data.storeId === storeId).map((e) => e.value.data);
    expect(entries.map((e) => e.feedSeq)).toEqual(entries.map((_, i) => i + 1));
    expect(entries.map((e) => e.communication.id)).toEqual(published);
  }
  // Every terminal: every item once, in order.
  await eventually(
    () => {
      for (const { received } of terminals) expect(received.length).toBeGreaterThanOrEqual(PUBLISHES);
    },
    { timeoutMs: 60_000, what: 'every item at every terminal' },
  );
  for (const { received } of terminals) {
    expect(received.map((m) => m.feedSeq)).toEqual(published.map((_, i) => i + 1));
    expect(received.map((m) => ('communication' in m ? m.communication.id : 'hidden'))).toEqual(published);
  }
}, 300_000);
