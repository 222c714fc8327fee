import request from 'supertest';
import { createRedisClient } from '@lastmeter/redis';
import { decodeFeedNotice, feedChannel } from '@lastmeter/redis';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { runCli } from '../support/cli';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { dumpGeneration, settled } from '../support/read-side';
import { StoreEventWriter } from '../support/store-events';
import { bearer, Publisher } from '../support/write-api';

/** `lastmeter rebuild` while commands keep flowing: no downtime, same feed positions, same models. */
const ns = testNamespace('rebuild');
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let activity: StoreEventWriter;
let stores: string[];

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
  activity = new StoreEventWriter(ns);
  const north = await api.region('north');
  stores = [await api.store('N1', north), await api.store('N2', north)];
});

afterAll(async () => {
  await activity?.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

type Item = { feedSeq: number; change: string; communication: { id: string; revision: number } };

async function feed(storeId: string): Promise<{ status: number; items: Item[] }> {
  const response = await request(apps.gateway.url)
    .get(`/v1/stores/${storeId}/feed?limit=500`)
    .set(bearer(api.token('analyst')));
  return { status: response.status, items: response.body.items ?? [] };
}

const cli = (args: string[]) => runCli(args, { ...ns.env, LASTMETER_HOME: undefined }, 180_000);

it('rebuilds during continuous publishing without downtime; every feed item keeps its feedSeq', async () => {
  for (let i = 0; i < 10; i++) {
    const id = await api.publish({ title: `before ${i}`, audience: { all: true } });
    if (i % 3 === 0) await api.revise(id, { body: `revised ${i}` });
    await activity.send(stores[0], [
      activity.event('receipt.delivered', { storeId: stores[0], terminalId: 't1', communicationId: id, revision: 1 }),
    ]);
  }
  await settled(ns, apps.projector);
  const before = new Map<string, Item[]>();
  for (const store of stores) before.set(store, (await feed(store)).items);
  // 10 published, up to 4 revised (a revision sequenced together with its publish is one entry).
  expect(before.get(stores[0])!.length).toBeGreaterThanOrEqual(10);

  // Keep publishing and reading while the rebuild runs.
  let running = true;
  const statuses: number[] = [];
  const load = (async () => {
    for (let i = 0; running; i++) {
      await api.publish({ title: `during ${i}`, audience: { all: true } });
      statuses.push((await feed(stores[1])).status);
    }
  })();
  const rebuilt = await cli(['rebuild']);
  running = false;
  await load;
  expect(rebuilt.stderr).toMatch(/%\s+\d+ events applied\s+\d+ events\/s\s+\d+ behind\s+ETA/);
  expect(rebuilt.stderr).toContain('switched serving from g1 to g2');
  expect(rebuilt.code).toBe(0);
  expect(statuses.length).toBeGreaterThan(0);
  expect(statuses.every((status) => status === 200)).toBe(true);

  // The live projector moved to g2 and the old generation is gone.
  const redis = createRedisClient(ns.env.REDIS_URL!, 'test');
  expect(await redis.get(`${ns.keyPrefix}meta:generation`)).toBe('g2');
  await eventually(async () => expect(await redis.keys(`${ns.keyPrefix}g1:*`)).toEqual([]));
  redis.disconnect();

  // Every item that existed before has the same feedSeq, change and revision.
  await settled(ns, apps.projector);
  for (const store of stores) {
    const after = (await feed(store)).items;
    expect(after.slice(0, before.get(store)!.length)).toEqual(before.get(store));
    expect(after.map((i) => i.feedSeq)).toEqual(after.map((_, i) => i + 1));
  }

  // g2 (rebuilt under load, then kept live) equals a from-scratch projection of the same log (g3).
  const live = await dumpGeneration(ns, 'g2');
  const again = await cli(['rebuild', '--keep-old']);
  expect(again.code).toBe(0);
  expect(await dumpGeneration(ns, 'g3')).toEqual(live);
});

it('announces new feed items to gateways: each store with its head, and the items as stored while they fit', async () => {
  const subscriber = createRedisClient(ns.env.REDIS_URL!, 'test-sub');
  const heard: Array<{ storeId: string; feedSeq: number; items?: string[] }> = [];
  subscriber.on('message', (_channel: string, message: string) => heard.push(...decodeFeedNotice(message)));
  await subscriber.subscribe(feedChannel(ns.keyPrefix));
  const id = await api.publish({ title: 'announced', audience: { storeIds: [stores[1]] } });
  const item = await eventually(async () => {
    const found = (await feed(stores[1])).items.find((i) => i.communication.id === id);
    expect(found).toBeDefined();
    return found!;
  });
  // Twice: by the command service as its transaction committed, and by the projector once
  // the item is in Redis. Each with the item itself, as stored, so the gateways need not
  // read it back from Redis.
  const notices = await eventually(() => {
    const found = heard.filter((h) => h.storeId === stores[1] && h.feedSeq === item.feedSeq);
    expect(found).toHaveLength(2);
    return found;
  });
  for (const notice of notices) expect(notice.items?.map((json) => JSON.parse(json) as Item)).toEqual([item]);
  expect(heard.filter((h) => h.storeId === stores[0])).toEqual([]);
  subscriber.disconnect();
});
