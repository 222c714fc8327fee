import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import {
  topicNames,
  type DomainEvent,
  type FeedItems,
  type FeedMessage,
  type LiveSetChunk,
} from '@lastmeter/contracts';
import { freePort, LocalRedis } from '@lastmeter/infra';
import { createRedisClient } from '@lastmeter/redis';
import { ConnectRefused, MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { requireEnv, testNamespace, type TestNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { dumpGeneration, settled } from '../support/read-side';
import { TcpProxy } from '../support/tcp-proxy';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 18 item 2: a Redis failover that drops the last acknowledged writes. A master and
 * its replica, both real redis-servers; the replica's link to the master runs through a
 * proxy the test cuts, so the master acknowledges writes the replica never gets. Then the
 * master is killed and the replica promoted, as Sentinel would. The projector's Kafka
 * offsets are past what the new master holds, and `intact` survived (it was replicated
 * long before): the positions alone must bring the read models back to the log.
 *
 * Not `@exclusive`: its Redis servers and proxies are its own, on ports of their own;
 * another suite's load only makes the recovery take longer.
 */
const root = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'failover-'));
let master: LocalRedis;
let replica: LocalRedis;
let replication: TcpProxy;
let front: TcpProxy;
let ns: TestNamespace;
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let stores: string[];
const tablets: TerminalClient[] = [];

async function redisAt(port: number, label: string): Promise<LocalRedis> {
  const redis = new LocalRedis({ port, dataDir: join(root, label), logDir: join(root, label), appendOnly: false });
  await redis.start();
  return redis;
}

beforeAll(async () => {
  master = await redisAt(await freePort(), 'master');
  replica = await redisAt(await freePort(), 'replica');
  replication = await TcpProxy.start(Number(new URL(master.url).port));
  const admin = createRedisClient(replica.url, 'test-replicaof');
  await admin.replicaof('127.0.0.1', replication.port);
  admin.disconnect();
  // The apps reach "the master" through a proxy a failover retargets (Sentinel's job).
  front = await TcpProxy.start(Number(new URL(master.url).port));
  ns = testNamespace('redis-failover', { REDIS_URL: `redis://127.0.0.1:${front.port}` });
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
  const north = await api.region('north');
  stores = [await api.store('N1', north), await api.store('N2', north)];
});

afterAll(async () => {
  for (const tablet of tablets) tablet.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
  for (const proxy of [front, replication]) await proxy?.close();
  for (const redis of [master, replica]) await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function publishSome(label: string): Promise<void> {
  for (let i = 0; i < 3; i++) await api.publish({ title: `${label} ${i}`, audience: { all: true } });
}

async function feedSeqs(storeId: string): Promise<number[]> {
  const response = await request(apps.gateway.url)
    .get(`/v1/stores/${storeId}/feed?limit=500`)
    .set(bearer(api.token('analyst')));
  expect(response.status).toBe(200);
  return response.body.items.map((item: { feedSeq: number }) => item.feedSeq);
}

it('a failover that loses the last acknowledged writes: the read models come back to the log without a restart', async () => {
  // A tablet of the first store, every message recorded as it comes off the socket.
  const { token } = await api.terminal(stores[0]!);
  const tablet = new TerminalClient({ url: apps.gateway.url, token, cursors: new MemoryCursorStore() });
  tablets.push(tablet);
  const raw: FeedMessage[] = [];
  tablet.socket.on('feed', (message: FeedMessage) => raw.push(message));
  tablet.socket.on('feed.snapshot', (chunk: LiveSetChunk) => raw.push(...chunk.items));
  // What is due at once (a burst of publishes) comes as one `feed.items`: TerminalClient asks for it.
  tablet.socket.on('feed.items', (batch: FeedItems) => raw.push(...batch.items));
  // A handshake refused `unavailable` says "retry", and a tablet does. Right after the
  // apps start, one was (CI, 2026-12-05: the gateway did not say why); this test is about
  // the failover below, not about that first handshake.
  for (let attempt = 1; ; attempt++) {
    try {
      await tablet.connect();
      break;
    } catch (error) {
      if (!(error instanceof ConnectRefused && error.reason === 'unavailable') || attempt === 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  await publishSome('replicated');
  await settled(ns, apps.projector);
  const primary = createRedisClient(master.url, 'test-wait');
  expect(await primary.wait(1, 10_000)).toBe(1); // the replica has all of it
  // The replica's link goes down; the master goes on acknowledging.
  replication.cut();
  await publishSome('lost in the failover');
  await settled(ns, apps.projector);
  const before = await dumpGeneration(ns, 'g1');
  primary.disconnect();

  // The master dies; the replica is promoted and the apps are sent to it.
  await master.kill();
  const promoted = createRedisClient(replica.url, 'test-promote');
  await promoted.replicaof('NO', 'ONE');
  const onReplica = { ...ns, env: { ...ns.env, REDIS_URL: replica.url } };
  // The loss is real: acknowledged read-model writes are missing on the new master...
  expect(await dumpGeneration(onReplica, 'g1')).not.toEqual(before);
  // ...while it still says the generation is whole (replicated before the cut).
  expect(await promoted.exists(`${ns.keyPrefix}meta:g1:intact`)).toBe(1);
  promoted.disconnect();
  front.retarget(Number(new URL(replica.url).port));
  // The tablet had all six; it reconnects now, its cursor beyond the store's head on the
  // new master. It keeps its cursor (no reset, no live set again), or is told to come
  // back while the read models recover.
  expect(tablet.position).toBe(6);
  tablet.socket.disconnect().connect();

  // Nothing new is published: the projector finds its positions behind its offsets.
  // (The tablet's reconnect is news to presence, which is left out of the comparison.)
  const withoutPresence = (dump: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(dump).filter(([key]) => !key.startsWith('presence:')));
  await eventually(
    async () => expect(withoutPresence(await dumpGeneration(onReplica, 'g1'))).toEqual(withoutPresence(before)),
    {
      timeoutMs: 60_000,
      what: 'the read models equal to before the failover',
    },
  );
  const log = await readTopic<DomainEvent<'feed.appended'>>(ns.env.KAFKA_BROKERS!, topicNames(ns.topicPrefix).feed);
  for (const storeId of stores) {
    const expected = log.filter(({ value }) => value.data.storeId === storeId).map(({ value }) => value.data.feedSeq);
    expect(expected).toHaveLength(6);
    await eventually(async () => expect(await feedSeqs(storeId)).toEqual(expected));
  }
  // The next item reaches the tablet once, after the six it had: nothing twice.
  await api.publish({ title: 'after the failover', audience: { all: true } });
  await eventually(() => expect(raw.map((m) => m.feedSeq)).toEqual([1, 2, 3, 4, 5, 6, 7]), { timeoutMs: 30_000 });
  expect(raw.some((m) => m.reset || m.snapshot)).toBe(false);
  tablet.close();
});
