import type Redis from 'ioredis';
import type { DomainEvent } from '@lastmeter/contracts';
import type { StoreState } from '@lastmeter/domain';
import {
  defineScripts,
  indexStore,
  reach,
  reachReport,
  RedisKeys,
  SCRIPTS,
  type CatalogueEntry,
  type ProjectionContext,
  type ScriptName,
} from '@lastmeter/read-models';
import { createRedisClient } from '@lastmeter/redis';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';

/**
 * Reach by region from counters (issue 16): the counts kept by `lmReachStore` and moved by
 * `lmStoreRegion` equal the read-time join of every store to its current region, whatever
 * order stores and receipts are projected in (a rebuild reads the topics in another order
 * than live) and however often a batch is redelivered.
 */
const ns = testNamespace('reach-by-region');
let redis: Redis;
const comm = '11111111-1111-4111-8111-111111111111';
const other = '22222222-2222-4222-8222-222222222222';

const store = (id: string, regionId: string, exists = true): StoreState => ({
  exists,
  id,
  code: id.toUpperCase(),
  name: `Store ${id}`,
  regionId,
  tags: [],
  locale: 'en',
  timezone: 'UTC',
});

type Step = { store: [StoreState, StoreState] } | { event: { type: string; data: unknown } };

const published = (communicationId: string, storeId: string): Step => ({
  event: { type: 'feed.appended', data: { change: 'published', storeId, communication: { id: communicationId } } },
});
const receipt = (type: string, communicationId: string, who: string): Step => {
  const [storeId, terminalId] = who.split('/');
  return { event: { type, data: { storeId, terminalId, communicationId } } };
};

/** The live history: stores registered, then publishes and receipts, a store moving region after its receipts. */
const STEPS: Step[] = [
  { store: [store('s1', '', false), store('s1', 'north')] },
  { store: [store('s2', '', false), store('s2', 'south')] },
  { store: [store('s3', '', false), store('s3', 'north')] },
  published(comm, 's1'),
  published(comm, 's2'),
  published(comm, 's3'),
  published(comm, 's4'), // never in the directory: `unknown`
  published(other, 's3'),
  receipt('receipt.delivered', comm, 's1/t1'),
  receipt('receipt.delivered', comm, 's1/t2'),
  receipt('receipt.delivered', comm, 's3/t1'),
  receipt('receipt.read', comm, 's3/t1'),
  receipt('receipt.delivered', comm, 's4/t1'),
  receipt('receipt.acknowledged', other, 's3/t1'),
  { store: [store('s3', 'north'), store('s3', 'south')] },
  receipt('receipt.read', comm, 's1/t2'),
  { store: [store('s1', 'north'), store('s1', 'north')] }, // renamed, same region
];

async function apply(keys: RedisKeys, steps: Step[]): Promise<void> {
  for (const step of steps) {
    const writes: Array<[string, ...Array<string | number>]> = [];
    const context = {
      keys,
      write: (name: string, ...args: Array<string | number>) => writes.push([name, ...args]),
      script: (name: string, ...args: Array<string | number>) => writes.push([name, ...args]),
      beforeFeed: (name: string, ...args: Array<string | number>) => writes.push([name, ...args]),
      announce: () => undefined,
    } as unknown as ProjectionContext;
    if ('store' in step) indexStore(context, ...step.store);
    else reach.project({ occurredAt: '2026-01-01T00:00:00.000Z', ...step.event } as unknown as DomainEvent, context);
    const pipeline = redis.pipeline();
    const scripts = pipeline as unknown as Record<ScriptName, (...args: unknown[]) => void>;
    for (const [name, ...args] of writes) {
      if (name in SCRIPTS) scripts[name as ScriptName](...args);
      else void pipeline.call(name, ...args);
    }
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }
}

async function dump(keys: RedisKeys): Promise<Record<string, unknown>> {
  const prefix = keys.index('');
  const found = await redis.keys(`${keys.generationPattern}`);
  const out: Record<string, unknown> = {};
  for (const key of found
    .filter((k) => k.startsWith(prefix) && !/:(rows|by-code|search|by-region:.*)$/.test(k))
    .sort()) {
    const type = await redis.type(key);
    out[key.slice(prefix.length)] = type === 'hash' ? await redis.hgetall(key) : (await redis.smembers(key)).sort();
  }
  return out;
}

const entry = (id: string) => ({ id, revision: 1, status: 'published' }) as unknown as CatalogueEntry;

beforeAll(() => {
  redis = defineScripts(createRedisClient(ns.env.REDIS_URL!, 'test-reach-by-region'));
});
afterAll(async () => {
  redis.disconnect();
  await cleanupNamespace(ns);
});

it('counts each store once per step in its current region', async () => {
  const keys = new RedisKeys(ns.keyPrefix, 'g1');
  await apply(keys, STEPS);
  const report = await reachReport(redis, keys, entry(comm), { byStore: false });
  expect(report.byRegion).toEqual([
    { regionId: 'north', targeted: 1, delivered: 1, read: 1, acknowledged: 0, completed: 0 },
    { regionId: 'south', targeted: 2, delivered: 1, read: 1, acknowledged: 0, completed: 0 },
    { regionId: 'unknown', targeted: 1, delivered: 1, read: 0, acknowledged: 0, completed: 0 },
  ]);
  expect(report).toMatchObject({
    targeted: 4,
    delivered: { stores: 3, terminals: 4 },
    read: { stores: 2, terminals: 2 },
  });
  // The report with stores joins each store's row: the same regions.
  const full = await reachReport(redis, keys, entry(comm));
  expect(full.byRegion).toEqual(report.byRegion);
  const joined = new Map<string, number>();
  for (const s of full.byStore)
    if (s.delivered > 0) joined.set(s.regionId ?? 'unknown', (joined.get(s.regionId ?? 'unknown') ?? 0) + 1);
  expect(Object.fromEntries(joined)).toEqual({ north: 1, south: 1, unknown: 1 });
  expect((await reachReport(redis, keys, entry(other), { byStore: false })).byRegion).toEqual([
    { regionId: 'south', targeted: 1, delivered: 0, read: 0, acknowledged: 1, completed: 0 },
  ]);
});

it('ends in the same keys whatever the order of stores and receipts, and under redelivery', async () => {
  const live = await dump(new RedisKeys(ns.keyPrefix, 'g1'));
  expect(Object.keys(live)).toEqual(
    expect.arrayContaining(['region-of', 'reach-comms', 'reach-stores', `reach:${comm}`, `reach:${comm}:by-region`]),
  );
  // Receipts before the directory (a rebuild that reads the feed and store events first).
  const receiptsFirst = new RedisKeys(ns.keyPrefix, 'g2');
  await apply(receiptsFirst, [...STEPS.filter((s) => 'event' in s), ...STEPS.filter((s) => 'store' in s)]);
  expect(await dump(receiptsFirst)).toEqual(live);
  // Every step applied twice, a batch redelivered after a crash.
  const redelivered = new RedisKeys(ns.keyPrefix, 'g3');
  await apply(redelivered, STEPS.slice(0, 12));
  await apply(redelivered, STEPS);
  await apply(redelivered, STEPS.slice(8));
  expect(await dump(redelivered)).toEqual(live);
});
