/**
 * @exclusive It kills the projector (SIGKILL) and waits for it to recover. (test/setup/e2e-environment.ts)
 */
import request from 'supertest';
import { topicNames, type DomainEvent } from '@lastmeter/contracts';
import { createKafkaClient } from '@lastmeter/kafka';
import { createRedisClient } from '@lastmeter/redis';
import { projectorGroupId, type DeadLetter } from '@lastmeter/read-models';
import { startApp, startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { runCli } from '../support/cli';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { endOffsets, readTopic } from '../support/log-reader';
import { dumpGeneration, gatewayAlive, metric, settled } from '../support/read-side';
import { StoreEventWriter } from '../support/store-events';
import { TcpProxy } from '../support/tcp-proxy';
import { bearer, Publisher } from '../support/write-api';

/** The projector survives redelivery, bad events and SIGKILL without changing or losing anything. */
const ns = testNamespace('projector');
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let activity: StoreEventWriter;
let stores: string[];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
  activity = new StoreEventWriter(ns);
  const north = await api.region('north');
  const south = await api.region('south');
  stores = [await api.store('N1', north), await api.store('N2', north), await api.store('S1', south)];
});

afterAll(async () => {
  await activity?.close();
  await stopApps(apps);
  for (const proxy of proxies) await proxy.close();
  await cleanupNamespace(ns);
});

/** Every store's feed as the gateway serves it, next to the feed topic's entries for it. */
async function feedsMatchTheLog(): Promise<void> {
  const log = await readTopic<DomainEvent<'feed.appended'>>(ns.env.KAFKA_BROKERS!, topics.feed);
  for (const storeId of stores) {
    const expected = log
      .filter(({ value }) => value.data.storeId === storeId)
      .map(({ value }) => [value.data.feedSeq, value.data.change, value.data.communication.id]);
    const response = await request(apps.gateway.url)
      .get(`/v1/stores/${storeId}/feed?limit=500`)
      .set(bearer(api.token('analyst')));
    const served = (
      response.body.items as Array<{ feedSeq: number; change: string; communication: { id: string } }>
    ).map((item) => [item.feedSeq, item.change, item.communication.id]);
    expect(served).toEqual(expected);
    expect(served.map(([seq]) => seq)).toEqual(served.map((_, i) => i + 1));
  }
}

async function someHistory(label: string): Promise<string[]> {
  const published: string[] = [];
  for (let i = 0; i < 4; i++) {
    const task = { kind: 'task', dueAt: new Date(Date.now() + 3_600_000).toISOString() };
    published.push(await api.publish({ title: `${label} ${i}`, audience: { all: true }, ...(i % 2 ? task : {}) }));
  }
  await api.revise(published[0], { body: 'revised' });
  await api.retract(published[1]);
  const [storeId] = stores;
  await activity.send(storeId, [
    activity.event('receipt.delivered', { storeId, terminalId: 't1', communicationId: published[0], revision: 2 }),
    activity.event('task.completed', { storeId, terminalId: 't1', communicationId: published[3], revision: 1 }),
    activity.event('terminal.connected', { storeId, terminalId: 't1', gatewayId: 'g' }),
    activity.event('report.filed', { storeId, reportId: `r-${label}`, title: label, body: 'b', authorId: 'm' }),
  ]);
  return published;
}

it('applies every event a second time without changing a single byte of any read model', async () => {
  await someHistory('twice');
  await settled(ns, apps.projector);
  await feedsMatchTheLog();
  const before = await dumpGeneration(ns, 'g1');
  expect(Object.keys(before).length).toBeGreaterThan(20);

  // Stop the projector, rewind its consumer group to offset 0, start it again.
  await apps.projector.stop();
  const admin = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test-rewind' }).admin();
  await admin.connect();
  for (const topic of [topics.events, topics.storeEvents, topics.feed]) {
    await admin.resetOffsets({ groupId: projectorGroupId(topics, 'g1'), topic, earliest: true });
  }
  await admin.disconnect();
  apps.projector = await startApp('projector', ns.env);
  await settled(ns, apps.projector);
  // It really did apply everything again...
  expect(await metric(apps.projector, 'lastmeter_projector_events_applied_total')).toBeGreaterThan(30);
  // ...and nothing changed.
  expect(await dumpGeneration(ns, 'g1')).toEqual(before);
});

it('sends a malformed event to the DLQ, applies the ones after it, and lets an operator retry', async () => {
  const [storeId] = stores;
  await gatewayAlive(ns, 'g');
  const valid = activity.event('terminal.connected', { storeId, terminalId: 'after-bad', gatewayId: 'g' });
  const unappliable = activity.event('report.filed', { storeId, reportId: '', title: 't', body: 'b', authorId: 'a' });
  await activity.send(storeId, ['{ not json', { ...valid, id: 'not-a-uuid' }, unappliable, valid]);
  await eventually(async () => {
    const presence = await request(apps.gateway.url)
      .get(`/v1/presence?storeId=${storeId}`)
      .set(bearer(api.token('analyst')));
    expect(presence.body.items[0].online.map((t: { terminalId: string }) => t.terminalId)).toContain('after-bad');
  });
  const letters = await eventually(async () => {
    const records = (await readTopic<DeadLetter>(ns.env.KAFKA_BROKERS!, topics.dlq)).map((m) => m.value);
    expect(records).toHaveLength(3);
    return records;
  });
  expect(letters.map((l) => l.error)).toEqual([
    expect.stringContaining('not JSON'),
    expect.stringMatching(/id: id must be a UUID/),
    expect.stringContaining('data.reportId must be'),
  ]);
  expect(letters[0]).toMatchObject({
    kind: 'dead-letter',
    payload: '{ not json',
    source: { topic: topics.storeEvents },
  });
  expect(await metric(apps.projector, 'lastmeter_projector_dead_letters_total')).toBe(3);

  const env = { ...ns.env, LASTMETER_HOME: undefined };
  const listed = await runCli(['dlq', 'list', '--json'], env);
  expect(listed.code).toBe(0);
  expect(
    listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id),
  ).toEqual(letters.map((l) => l.id));

  // The malformed ones still fail on retry and stay listed.
  const retried = await runCli(['dlq', 'retry', '--all'], env);
  expect(retried.code).toBe(2);
  expect(retried.stdout).toContain('still fails');
  expect(retried.stderr).toContain('0 of 3 dead letter(s) applied');
});

it('resolves a dead letter whose event applies on retry', async () => {
  const [storeId] = stores;
  // A receipt that failed once (say, before a fix was deployed) sits in the DLQ.
  const receipt = activity.event('receipt.read', {
    storeId,
    terminalId: 'retried',
    communicationId: stores[2],
    revision: 1,
  });
  const letter: DeadLetter = {
    kind: 'dead-letter',
    id: '0f4f5f43-5a9e-4c1e-9d62-8f0f0f0f0f01',
    source: { topic: topics.storeEvents, partition: 0, offset: '0' },
    error: 'simulated failure',
    failedAt: new Date().toISOString(),
    consumer: projectorGroupId(topics, 'g1'),
    payload: JSON.stringify(receipt),
    payloadEncoding: 'utf8',
  };
  await activity.send(storeId, [letter], topics.dlq);
  const env = { ...ns.env, LASTMETER_HOME: undefined };
  const retried = await runCli(['dlq', 'retry', letter.id], env);
  expect(retried.stdout).toContain(`${letter.id}  applied`);
  expect(retried.code).toBe(0);
  const redis = createRedisClient(ns.env.REDIS_URL!, 'test');
  expect(Object.keys(await redis.hgetall(`${ns.keyPrefix}g1:reach:${stores[2]}:read`))).toEqual([`${storeId}/retried`]);
  redis.disconnect();
  const listed = await runCli(['dlq', 'list', '--json'], env);
  expect(listed.stdout).not.toContain(letter.id);
});

it('commits its group offsets on a timer, so a restarted projector starts after what it projected', async () => {
  await someHistory('commits');
  await settled(ns, apps.projector);
  // The offsets reach the end of every projected partition while the projector runs: it
  // commits every second, not after each batch, and not only when it stops.
  const admin = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test-commits' }).admin();
  await admin.connect();
  try {
    const roles = [topics.events, topics.storeEvents, topics.feed];
    await eventually(
      async () => {
        const committed = await admin.fetchOffsets({ groupId: projectorGroupId(topics, 'g1'), topics: roles });
        for (const topic of roles) {
          const ends = await endOffsets(ns.env.KAFKA_BROKERS!, topic);
          const at = committed.find((c) => c.topic === topic)!.partitions;
          // -1: never committed; -2: reset to the earliest by the first test. Both are 0 here.
          const commits = Object.fromEntries(at.map((p) => [p.partition, Number(p.offset) < 0 ? '0' : p.offset]));
          expect({ topic, commits }).toEqual({ topic, commits: ends });
        }
      },
      { timeoutMs: 10_000, what: "the projector group's offsets at the ends of its topics" },
    );
  } finally {
    await admin.disconnect();
  }
  // A restart reads nothing again.
  await apps.projector.stop();
  apps.projector = await startApp('projector', ns.env);
  await settled(ns, apps.projector);
  expect(await metric(apps.projector, 'lastmeter_projector_events_applied_total')).toBe(0);
  await feedsMatchTheLog();
});

it('loses nothing and duplicates nothing when the projector is SIGKILLed mid-stream', async () => {
  let publishing = true;
  let count = 0;
  const publisher = (async () => {
    while (publishing) {
      await api.publish({ title: `stream ${count++}`, audience: { all: true } });
    }
  })();
  await eventually(() => expect(count).toBeGreaterThan(5), { timeoutMs: 30_000 });
  await apps.projector.kill('SIGKILL');
  const killedAt = count;
  await eventually(() => expect(count).toBeGreaterThan(killedAt + 5), { timeoutMs: 30_000 });
  apps.projector = await startApp('projector', ns.env);
  await eventually(() => expect(count).toBeGreaterThan(killedAt + 10), { timeoutMs: 30_000 });
  publishing = false;
  await publisher;
  await settled(ns, apps.projector);
  await feedsMatchTheLog();
});

it('keeps trying to start while its Redis is unreachable, then projects what was written meanwhile', async () => {
  await apps.projector.stop();
  // The projector alone reaches Redis through a proxy that refuses every connection.
  const proxy = await TcpProxy.start(Number(new URL(ns.env.REDIS_URL!).port));
  proxies.push(proxy);
  proxy.cut();
  const behindProxy = new URL(ns.env.REDIS_URL!);
  behindProxy.port = String(proxy.port);
  apps.projector = await startApp('projector', { ...ns.env, REDIS_URL: behindProxy.toString() });
  await someHistory('redis unreachable');
  // It tried, failed and said when it tries again; before, one failed start left it idle for good.
  await eventually(
    () => expect(apps.projector.output.join('\n')).toMatch(/projector not running \(.*\); trying again in \d+ ms/),
    { what: 'the projector to report a failed start' },
  );
  expect(await metric(apps.projector, 'lastmeter_projector_events_applied_total')).toBe(0);
  expect(await metric(apps.projector, 'lastmeter_projector_running')).toBe(0);
  proxy.restore();
  await settled(ns, apps.projector);
  expect(await metric(apps.projector, 'lastmeter_projector_events_applied_total')).toBeGreaterThan(0);
  expect(await metric(apps.projector, 'lastmeter_projector_running')).toBe(1);
  await feedsMatchTheLog();
});
