import request from 'supertest';
import { topicNames, type DomainEvent } from '@lastmeter/contracts';
import { createRedisClient } from '@lastmeter/redis';
import { startApp, startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { dumpGeneration, metric, settled } from '../support/read-side';
import { handshakeOutcome } from '../support/recording-terminal';
import { bearer, Publisher } from '../support/write-api';
import { suiteKeys } from '../support/suite-keys';

/**
 * Issue 18 item 2: the read-model Redis loses its data (a FLUSHALL, a replaced host, a
 * failover before the last writes were replicated). The projectors notice by themselves
 * and re-project from their positions in Redis, which went with the data; readers get 503
 * with Retry-After meanwhile, never an empty board; afterwards the read models are what
 * they were, byte for byte.
 */
const ns = testNamespace('redis-loss');
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let stores: string[];

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
  const north = await api.region('north');
  stores = [await api.store('N1', north), await api.store('N2', north)];
});

afterAll(async () => {
  await stopApps(apps);
  await cleanupNamespace(ns);
});

/** What an unreplicated Redis host being replaced does to this deployment: every key gone. */
async function loseEveryKey(): Promise<number> {
  const redis = createRedisClient(ns.env.REDIS_URL!, 'test-loss');
  try {
    const keys = await suiteKeys(redis, ns);
    let lost = 0;
    for (let i = 0; i < keys.length; i += 1_000) lost += await redis.del(...keys.slice(i, i + 1_000));
    return lost;
  } finally {
    redis.disconnect();
  }
}

async function someHistory(label: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const task = { kind: 'task', dueAt: new Date(Date.now() + 3_600_000).toISOString() };
    await api.publish({ title: `${label} ${i}`, audience: { all: true }, ...(i % 2 ? task : {}) });
  }
}

/** Every store's feed as the gateway serves it equals the feed topic's entries for it. */
async function feedsMatchTheLog(): Promise<void> {
  const log = await readTopic<DomainEvent<'feed.appended'>>(ns.env.KAFKA_BROKERS!, topics.feed);
  for (const storeId of stores) {
    const expected = log.filter(({ value }) => value.data.storeId === storeId).map(({ value }) => value.data.feedSeq);
    const response = await request(apps.gateway.url)
      .get(`/v1/stores/${storeId}/feed?limit=500`)
      .set(bearer(api.token('analyst')));
    expect(response.status).toBe(200);
    expect(response.body.items.map((item: { feedSeq: number }) => item.feedSeq)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
  }
}

const read = (path: string) =>
  request(apps.gateway.url)
    .get(path)
    .set(bearer(api.token('analyst')));

const refusalOf = (token: string) => handshakeOutcome(apps.gateway.url, token);

it('a projector that starts on a Redis that lost everything rebuilds it; meanwhile reads are 503, never empty', async () => {
  await someHistory('before the loss');
  const revoked = await api.terminal(stores[0]);
  await api.revokeTerminal(revoked.terminalId);
  await settled(ns, apps.projector);
  await feedsMatchTheLog();
  const before = await dumpGeneration(ns, 'g1');
  expect(Object.keys(before).length).toBeGreaterThan(15);
  expect((await read('/v1/compliance')).body.items.length).toBe(2);

  await apps.projector.stop();
  expect(await loseEveryKey()).toBeGreaterThan(15);

  // No projector to rebuild yet: the boards say "come back", not "no stores".
  for (const path of ['/v1/compliance', '/v1/communications', `/v1/stores/${stores[0]}/feed`]) {
    await eventually(async () => {
      const response = await read(path);
      expect(response.status).toBe(503);
      expect(response.headers['retry-after']).toBe('5');
      expect(response.body.message).toMatch(/read models are being rebuilt/);
    });
  }
  // The revoked terminal's record is gone with the rest: it is not let in on that. The
  // tablet is told only to retry; the gateway counts the refusal and logs its cause.
  const refusedBefore = await metric(apps.gateway, 'lastmeter_gateway_handshakes_refused_total', {
    namespace: 'terminal',
    reason: 'unavailable',
  });
  expect(await refusalOf(revoked.token)).toBe('unavailable');
  expect(
    await metric(apps.gateway, 'lastmeter_gateway_handshakes_refused_total', {
      namespace: 'terminal',
      reason: 'unavailable',
    }),
  ).toBe(refusedBefore + 1);
  expect(apps.gateway.output.join('\n')).toMatch(/refused a \/terminal handshake 'unavailable'.*: \w+/);

  apps.projector = await startApp('projector', ns.env);
  await eventually(async () => expect((await read('/v1/compliance')).status).toBe(200), {
    timeoutMs: 60_000,
    what: 'the read models whole again',
  });
  await settled(ns, apps.projector);
  expect(await dumpGeneration(ns, 'g1')).toEqual(before);
  await feedsMatchTheLog();
  expect(await refusalOf(revoked.token)).toBe('terminal-revoked');
  expect(await metric(apps.projector, 'lastmeter_projector_recovering_events')).toBe(0);
});

it('a Redis that loses everything under a running projector is re-projected without a restart', async () => {
  await someHistory('before the second loss');
  await settled(ns, apps.projector);
  const before = await dumpGeneration(ns, 'g1');
  await loseEveryKey();
  // Nothing new is published: the projector sees the loss itself, not through a new event.
  await eventually(
    async () => {
      expect((await read('/v1/compliance')).status).toBe(200);
      expect(await dumpGeneration(ns, 'g1')).toEqual(before);
    },
    { timeoutMs: 60_000, what: 'the read models equal to before the loss' },
  );
  await feedsMatchTheLog();
  // And it goes on projecting what comes next.
  await someHistory('after the loss');
  await settled(ns, apps.projector);
  await feedsMatchTheLog();
  expect(await metric(apps.projector, 'lastmeter_projector_dead_letters_total')).toBe(0);
});
