import { topicNames, type FeedPage } from '@lastmeter/contracts';
import { currentGeneration, dumpReadModels, PROJECTED, RedisKeys } from '@lastmeter/read-models';
import { createRedisClient } from '@lastmeter/redis';
import type { RunningApp } from './apps';
import type { TestNamespace } from './env';
import { eventually } from './eventually';
import { endOffsets } from './log-reader';
import { bearer } from './write-api';

/** Every key of one read-model generation of the test's namespace, canonical (libs/read-models dump.ts). */
export async function dumpGeneration(ns: TestNamespace, generation: string): Promise<Record<string, unknown>> {
  const redis = createRedisClient(ns.env.REDIS_URL!, 'test-dump');
  try {
    return await dumpReadModels(redis, ns.keyPrefix, generation);
  } finally {
    redis.disconnect();
  }
}

/** The projector's lag per partition, from its /metrics. */
export async function projectorLag(projector: RunningApp): Promise<Map<string, number>> {
  const text = await (await fetch(`${projector.url}/metrics`)).text();
  const lags = new Map<string, number>();
  for (const match of text.matchAll(/^lastmeter_projector_lag\{([^}]*)\} (\d+)/gm))
    lags.set(match[1], Number(match[2]));
  return lags;
}

/** Waits until the projector reports every projected partition (3 topics × partitions) at lag 0. */
export async function projectorCaughtUp(projector: RunningApp, partitions = 3, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      const lags = await projectorLag(projector);
      expect(lags.size).toBe(3 * partitions);
      expect([...lags].filter(([, lag]) => lag > 0)).toEqual([]);
    },
    { timeoutMs, what: 'the projector to catch up', intervalMs: 500 },
  );
}

/** A metric of an app, summed over its series; with `labels`, over the series that have them. */
export async function metric(app: RunningApp, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? ([\\d.e+-]+)`, 'gm'))) {
    const series = (match[1] ?? '').split(',');
    if (wanted.every((pair) => series.includes(pair))) sum += Number(match[2]);
  }
  return sum;
}

/**
 * Waits until the projector has written its own bookkeeping: its heartbeat in
 * `meta:projectors` and its generation's `intact` mark. It writes both by itself within a
 * second or two of its start (or of a topic's creation), whatever the requests do, so a
 * suite that compares Redis keys before and after a request waits for them first
 * (`startApps` does, once its projector is up).
 */
export async function projectorBookkeeping(env: NodeJS.ProcessEnv): Promise<void> {
  const prefix = env.REDIS_KEY_PREFIX ?? '';
  const redis = createRedisClient(env.REDIS_URL!, 'test-projector-meta');
  try {
    await eventually(
      async () => {
        const keys = new RedisKeys(prefix, await currentGeneration(redis, prefix));
        expect(await redis.hlen(keys.meta('projectors'))).toBeGreaterThan(0);
        expect(await redis.exists(keys.intact)).toBe(1);
      },
      { what: "the projector's heartbeat and intact mark", intervalMs: 250 },
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * Waits until nothing more is being appended (the write side sequences feed entries a
 * few ms after a command answers) and the projector has applied all of it, its own
 * bookkeeping included.
 */
export async function settled(ns: TestNamespace, projector: RunningApp): Promise<void> {
  const topics = topicNames(ns.topicPrefix);
  const snapshot = async () =>
    JSON.stringify(await Promise.all(PROJECTED.map((role) => endOffsets(ns.env.KAFKA_BROKERS!, topics[role]))));
  for (let previous = await snapshot(); ;) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const current = await snapshot();
    if (current !== previous) {
      previous = current;
      continue;
    }
    await projectorCaughtUp(projector);
    await projectorBookkeeping(ns.env);
    if ((await snapshot()) === current) return;
  }
}

/**
 * Records a heartbeat for a gateway id, as a running gateway does every 3 s, so that
 * presence written directly to the log by a test counts as online.
 */
export async function gatewayAlive(ns: TestNamespace, gatewayId: string): Promise<void> {
  const redis = createRedisClient(ns.env.REDIS_URL!, 'test-heartbeat');
  await redis.hset(`${ns.keyPrefix}gateways`, gatewayId, String(Date.now()));
  redis.disconnect();
}

/**
 * Waits until the read side holds a store's feed up to `seq` (GET /v1/stores/:id/feed's
 * headSeq). A tablet that got an item live proves only that the command service's notice
 * on commit arrived, not that the projector wrote it to Redis; a handshake's `headSeq` and
 * snapshot, and `feed.earlier`, are read from Redis.
 */
export async function feedHeadReached(gatewayUrl: string, token: string, storeId: string, seq: number): Promise<void> {
  await eventually(
    async () => {
      const response = await fetch(`${gatewayUrl}/v1/stores/${storeId}/feed?after=0&limit=1`, {
        headers: bearer(token),
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { headSeq: number }).headSeq).toBeGreaterThanOrEqual(seq);
    },
    { what: `store ${storeId}'s feed at ${seq} on the read side` },
  );
}

/** Waits until the read side has `communicationId` in the store's feed (what a handshake's live set reads). */
export async function feedHolds(
  gatewayUrl: string,
  token: string,
  storeId: string,
  communicationId: string,
): Promise<void> {
  await eventually(
    async () => {
      const response = await fetch(`${gatewayUrl}/v1/stores/${storeId}/feed?after=0&limit=500`, {
        headers: bearer(token),
      });
      expect(response.status).toBe(200);
      const page = (await response.json()) as FeedPage;
      expect(page.items.flatMap((item) => ('communication' in item ? [item.communication.id] : []))).toContain(
        communicationId,
      );
    },
    { what: `communication ${communicationId} in store ${storeId}'s feed on the read side` },
  );
}
