import { topicNames } from '@lastmeter/contracts';
import { startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { eventsAndTitles, feedsByStore } from '../support/log-reader';
import { Publisher } from '../support/write-api';

/**
 * Targeting and feed positions are decided on the write side and recorded in
 * lastmeter.feed.v1: these tests read the topic itself.
 */
const ns = testNamespace('feed-seq');
const topics = topicNames(ns.topicPrefix);
let command: RunningApp;
let api: Publisher;

beforeAll(async () => {
  command = await startApp('command', ns.env);
  api = new Publisher(command.url, ns);
});

afterAll(async () => {
  await command?.stop();
  await cleanupNamespace(ns);
});

function feeds(): Promise<Map<string, Array<[number, string, string]>>> {
  return feedsByStore(ns.env.KAFKA_BROKERS!, topics.feed);
}

it('puts a regional notice in every store of the region, later arrivals included, and nowhere else', async () => {
  const north = await api.region('north');
  const south = await api.region('south');
  const [n1, n2, s1] = [await api.store('N1', north), await api.store('N2', north), await api.store('S1', south)];

  const notice = await api.publish({ title: 'North only', audience: { regionIds: [north] } });
  await eventually(async () => {
    const byStore = await feeds();
    expect(byStore.get(n1)).toEqual([[1, 'published', notice]]);
    expect(byStore.get(n2)).toEqual([[1, 'published', notice]]);
    expect(byStore.has(s1)).toBe(false);
  });

  // A store opened in the region later, and one moved into it, get what is still live.
  const n3 = await api.store('N3', north);
  await api.updateStore(s1, { regionId: north });
  await api.revise(notice, { body: 'Revised body' });
  await eventually(async () => {
    const byStore = await feeds();
    expect(byStore.get(n3)).toEqual([
      [1, 'published', notice],
      [2, 'revised', notice],
    ]);
    expect(byStore.get(s1)?.[0]).toEqual([1, 'published', notice]);
    expect(byStore.get(n1)).toEqual([
      [1, 'published', notice],
      [2, 'revised', notice],
    ]);
  });

  await api.retract(notice);
  await eventually(async () => {
    const byStore = await feeds();
    for (const store of [n1, n2, n3, s1]) expect(byStore.get(store)?.at(-1)?.slice(1)).toEqual(['retracted', notice]);
  });
  // After the retraction a new store of the region never sees it.
  const n4 = await api.store('N4', north);
  const marker = await api.publish({ title: 'Everyone', audience: { all: true } });
  await eventually(async () => {
    const byStore = await feeds();
    expect(byStore.get(n4)).toEqual([[1, 'published', marker]]);
    for (const [, entries] of byStore) {
      expect(entries.map(([seq]) => seq)).toEqual(entries.map((_, i) => i + 1));
    }
  });
});

it('never gives a store a notice that expired before the store arrived', async () => {
  const east = await api.region('east');
  const e1 = await api.store('E1', east);
  const expiring = await api.publish(
    { title: 'Short-lived', audience: { regionIds: [east] } },
    { expiresAt: new Date(Date.now() + 2_000).toISOString() },
  );
  // (Earlier tests' notices to every store are in these feeds too.)
  const about = (id: string, entries: Array<[number, string, string]> = []) =>
    entries.filter(([, , communication]) => communication === id).map(([, change]) => change);
  await eventually(async () => expect(about(expiring, (await feeds()).get(e1))).toEqual(['published', 'expired']));
  const e2 = await api.store('E2', east);
  const marker = await api.publish({ title: 'After expiry', audience: { storeIds: [e2] } });
  await eventually(async () => expect(about(marker, (await feeds()).get(e2))).toEqual(['published']));
  expect(about(expiring, (await feeds()).get(e2))).toEqual([]);
});

it('loses and duplicates nothing when the command service is SIGKILLed while publishing', async () => {
  const west = await api.region('west');
  const stores = [await api.store('W1', west), await api.store('W2', west), await api.store('W3', west)];
  let running = true;
  let attempts = 0;
  const publisher = (async () => {
    while (running) {
      attempts++;
      // Requests in flight at the kill fail; whatever reached the log must reach every feed.
      await api.publish({ title: `west ${attempts}`, audience: { regionIds: [west] } }).catch(() => undefined);
    }
  })();
  await eventually(() => expect(attempts).toBeGreaterThan(5), { timeoutMs: 30_000 });
  await command.kill('SIGKILL');
  command = await startApp('command', ns.env);
  api = new Publisher(command.url, ns);
  const restartedAt = attempts;
  await eventually(() => expect(attempts).toBeGreaterThan(restartedAt + 5), { timeoutMs: 60_000 });
  running = false;
  await publisher;

  // Re-read each time: a command answered 202 during the fail-over is decided later.
  await eventually(
    async () => {
      const { events, titles } = await eventsAndTitles(ns.env.KAFKA_BROKERS!, topics.events);
      const published = events
        .filter((e) => e.type === 'communication.published' && titles.get(e.aggregateId)?.startsWith('west '))
        .map((e) => e.aggregateId)
        .sort();
      expect(published.length).toBeGreaterThan(10);
      const byStore = await feeds();
      for (const store of stores) {
        const entries = byStore.get(store) ?? [];
        expect(entries.map(([seq]) => seq)).toEqual(entries.map((_, i) => i + 1));
        // (Notices of earlier tests to every store are in these feeds too.)
        const west = entries.filter(([, change, id]) => change === 'published' && titles.get(id)?.startsWith('west '));
        expect(west.map(([, , id]) => id).sort()).toEqual(published);
      }
    },
    { timeoutMs: 60_000 },
  );
});
