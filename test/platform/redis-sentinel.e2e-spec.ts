import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { topicNames, type DomainEvent, type FeedMessage } from '@lastmeter/contracts';
import { LocalRedisSentinelSet } from '@lastmeter/infra';
import type { TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { CarefulWriter } from '../support/careful-write';
import { cleanupNamespace } from '../support/cleanup';
import { recordingTerminal } from '../support/recording-terminal';
import { requireEnv, testNamespace, type TestNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 18, the Redis of the cluster profile (ADR 0006): a master, a replica and three
 * Sentinels, the apps on `redis+sentinel://`. The master is killed with SIGKILL under
 * connected terminals; the Sentinels promote the replica, every app follows it, and
 * terminals get every item once and in order, before and after.
 *
 * Not `@exclusive`: its Redis servers and Sentinels are its own, on ports of their own, and
 * start in milliseconds; another suite's load only makes the failover take longer.
 */
const root = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'sentinel-'));
let redis: LocalRedisSentinelSet;
let ns: TestNamespace;
let apps: Record<AppName, RunningApp>;
let api: Publisher;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  redis = await LocalRedisSentinelSet.startNew({ dataDir: join(root, 'data'), logDir: join(root, 'logs') });
  ns = testNamespace('redis-sentinel', { REDIS_URL: redis.url });
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await stopApps(apps);
  if (ns) await cleanupNamespace(ns).catch(() => undefined);
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

it('fails over to the replica when the master is killed; apps follow, terminals miss nothing', async () => {
  const region = await api.region('sentinel');
  const stores = [await api.store('S1', region), await api.store('S2', region)];
  const terminals: Array<{ storeId: string; received: FeedMessage[] }> = [];
  for (const storeId of stores) {
    for (let t = 0; t < 3; t++) {
      terminals.push(await recordingTerminal(api, apps.gateway.url, storeId, clients));
    }
  }
  const writer = new CarefulWriter(apps.command.url, api);
  const published: string[] = [];
  for (let i = 0; i < 3; i++) published.push(await writer.publish(`before failover ${i}`));

  const [master] = redis.servers;
  const masterPort = await redis.masterPort();
  expect(masterPort).toBe(Number(new URL(master!.url).port));
  await master!.kill();
  await eventually(async () => expect(await redis.masterPort()).not.toBe(masterPort), {
    timeoutMs: 30_000,
    what: 'a Sentinel failover',
  });
  for (let i = 0; i < 3; i++) published.push(await writer.publish(`after failover ${i}`));

  await eventually(
    () => {
      for (const { received } of terminals) expect(received.length).toBeGreaterThanOrEqual(published.length);
    },
    { timeoutMs: 60_000, what: 'every item at every terminal' },
  );
  for (const { received } of terminals) {
    expect(received.map((m) => m.feedSeq)).toEqual(published.map((_, i) => i + 1));
    expect(received.map((m) => ('communication' in m ? m.communication.id : 'hidden'))).toEqual(published);
  }
  // The read models on the promoted master match the log.
  const log = await readTopic<DomainEvent<'feed.appended'>>(ns.env.KAFKA_BROKERS!, topicNames(ns.topicPrefix).feed);
  for (const storeId of stores) {
    const expected = log.filter((e) => e.value.data.storeId === storeId).map((e) => e.value.data.communication.id);
    expect(expected).toEqual(published);
    await eventually(async () => {
      const response = await request(apps.gateway.url)
        .get(`/v1/stores/${storeId}/feed?limit=100`)
        .set(bearer(api.token('analyst')));
      expect(response.status).toBe(200);
      expect(response.body.items.map((item: { communication: { id: string } }) => item.communication.id)).toEqual(
        expected,
      );
    });
  }
}, 180_000);
