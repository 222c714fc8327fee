import request from 'supertest';
import { topicNames, type FeedItem, type FeedMessage } from '@lastmeter/contracts';
import type { TerminalClient } from '@lastmeter/terminal-client';
import { startApp, startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { everyDay, movableClock } from '../support/clock';
import { eventually } from '../support/eventually';
import { metric } from '../support/read-side';
import { readTopic } from '../support/log-reader';
import { recordingTerminal } from '../support/recording-terminal';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 22, item 2: normal items with `delivery: 'next-brief'` reach each store bundled
 * in one brief at the store's opening, in its own time zone; urgent items go at once. The
 * command service's clock is moved with LASTMETER_CLOCK_FILE instead of sleeping until
 * the stores open.
 */
const clock = movableClock('brief');
const ns = testNamespace('brief', { LASTMETER_CLOCK_FILE: clock.file });
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: Publisher;
const clients: TerminalClient[] = [];

const itemsOf = (received: FeedMessage[], id: string) =>
  received.filter((m): m is FeedItem & FeedMessage => 'communication' in m && m.communication.id === id);

beforeAll(async () => {
  // Wednesday 2 December 2026, 01:00 UTC: 10:00 in Tokyo, 02:00 in Paris, 20:00 (Tuesday) in New York.
  clock.set('2026-12-02T01:00:00Z');
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

it('gives three stores in three time zones their brief at their own opening, and urgent notices at once', async () => {
  const region = await api.region('brief-zones');
  const [tokyo, paris, newYork] = await Promise.all(
    [
      ['TYO', 'Asia/Tokyo'],
      ['PAR', 'Europe/Paris'],
      ['NYC', 'America/New_York'],
    ].map(([code, timezone]) => api.store(code!, region, { timezone, openingHours: everyDay('09:00', '19:00') })),
  );
  const terminals = await Promise.all(
    [tokyo!, paris!, newYork!].map((store) => recordingTerminal(api, apps.gateway.url, store, clients)),
  );
  const audience = { storeIds: [tokyo, paris, newYork] };
  const planogram = await api.publish({ title: 'Planogram week 49', audience, delivery: 'next-brief' });
  const rota = await api.publish({ title: 'Christmas rota', audience, delivery: 'next-brief' });
  const recall = await api.publish({ title: 'Recall: batch 42 yoghurt', audience, priority: 'urgent' });

  // The urgent notice arrives at once everywhere, Tokyo's mid-morning included; the brief items wait.
  await eventually(() => {
    for (const { received } of terminals) expect(itemsOf(received, recall)).toHaveLength(1);
  });
  for (const { received } of terminals) expect(itemsOf(received, recall)[0]).not.toHaveProperty('brief');
  const briefItems = (received: FeedMessage[]) => [...itemsOf(received, planogram), ...itemsOf(received, rota)];
  // The command service says how many stores wait for their brief (docs/observability.md).
  const awaiting = () => metric(apps.command, 'lastmeter_feed_stores_awaiting_brief');
  await eventually(async () => expect(await awaiting()).toBe(3));
  clock.set('2026-12-02T07:59:50Z');
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  for (const { received } of terminals) expect(briefItems(received)).toEqual([]);

  // 09:00 in Paris: its brief, both items, one after the other, nobody else's yet.
  const [tokyoTablet, parisTablet, newYorkTablet] = terminals;
  clock.set('2026-12-02T08:00:05Z');
  const parisBrief = await eventually(() => {
    const items = briefItems(parisTablet!.received);
    expect(items).toHaveLength(2);
    return items;
  });
  const brief = { at: '2026-12-02T08:00:00.000Z', date: '2026-12-02' };
  expect(parisBrief.map((i) => [i.change, i.brief])).toEqual([
    ['published', brief],
    ['published', brief],
  ]);
  expect(Math.abs(parisBrief[0]!.feedSeq - parisBrief[1]!.feedSeq)).toBe(1);
  expect(briefItems(tokyoTablet!.received)).toEqual([]);
  expect(briefItems(newYorkTablet!.received)).toEqual([]);

  // 09:00 in New York.
  clock.set('2026-12-02T14:00:05Z');
  await eventually(() => expect(briefItems(newYorkTablet!.received)).toHaveLength(2));
  expect(briefItems(newYorkTablet!.received).map((i) => i.brief)).toEqual([
    { at: '2026-12-02T14:00:00.000Z', date: '2026-12-02' },
    { at: '2026-12-02T14:00:00.000Z', date: '2026-12-02' },
  ]);
  expect(briefItems(tokyoTablet!.received)).toEqual([]);

  // Thursday 09:00 in Tokyo (Tokyo had opened before the items were published on Wednesday).
  clock.set('2026-12-03T00:00:05Z');
  await eventually(() => expect(briefItems(tokyoTablet!.received)).toHaveLength(2));
  expect(briefItems(tokyoTablet!.received)[0]!.brief).toEqual({ at: '2026-12-03T00:00:00.000Z', date: '2026-12-03' });
  for (const { received } of terminals) expect(briefItems(received)).toHaveLength(2);
  expect(await awaiting()).toBe(0);

  // Head office sees the delivery it chose.
  const view = await request(apps.gateway.url)
    .get(`/v1/communications/${planogram}`)
    .set(bearer(api.token('hq-editor')))
    .expect(200);
  expect(view.body.delivery).toBe('next-brief');
});

it('refuses delivery on urgent and critical items, and a delivery it does not know, writing nothing', async () => {
  const events = async () => (await readTopic(ns.env.KAFKA_BROKERS!, topics.events)).map((r) => r.value);
  const before = new Set((await events()).map((e) => e.id));
  for (const body of [
    { priority: 'urgent', delivery: 'next-brief' },
    { priority: 'critical', delivery: 'now' },
    { delivery: 'tomorrow' },
  ]) {
    const response = await request(apps.command.url)
      .post('/v1/communications')
      .set(bearer(api.token('hq-editor')))
      .send({ kind: 'notice', title: 'x', body: 'y', audience: { all: true }, ...body })
      .expect(400);
    expect(response.body.fields.delivery).toEqual([expect.any(String)]);
  }
  const { id } = await api.draft({ delivery: 'next-brief' });
  // A revision naming a delivery for a critical item is refused as well…
  await request(apps.command.url)
    .patch(`/v1/communications/${id}`)
    .set(bearer(api.token('hq-editor')))
    .send({ priority: 'critical', delivery: 'next-brief' })
    .expect(400)
    .expect((response) => expect(response.body.fields.delivery).toBeDefined());
  // …while raising the priority alone makes the item go at once.
  await api.revise(id, { priority: 'critical' });
  const view = await eventually(async () => {
    const response = await request(apps.gateway.url)
      .get(`/v1/communications/${id}`)
      .set(bearer(api.token('hq-editor')))
      .expect(200);
    expect(response.body.revision).toBe(2);
    return response.body as Record<string, unknown>;
  });
  expect(view.priority).toBe('critical');
  expect(view).not.toHaveProperty('delivery');
  // The draft and its one accepted revision are the only events.
  const added = (await events()).filter((e) => !before.has(e.id));
  expect(added.map((e) => [e.type, e.aggregateId])).toEqual([
    ['communication.drafted', id],
    ['communication.revised', id],
  ]);
});

it('gives a store whose opening passed while the command service was down its brief once, on recovery', async () => {
  // Thursday 3 December, 20:00 in Lisbon (UTC in winter): closed; it opens on Friday at 09:00.
  clock.set('2026-12-03T20:00:00Z');
  const store = await api.store('LIS', await api.region('brief-outage'), {
    timezone: 'Europe/Lisbon',
    openingHours: everyDay('09:00', '19:00'),
  });
  const tablet = await recordingTerminal(api, apps.gateway.url, store, clients);
  const id = await api.publish({ title: 'New loyalty card', audience: { storeIds: [store] }, delivery: 'next-brief' });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(itemsOf(tablet.received, id)).toEqual([]);

  await apps.command.kill('SIGKILL');
  clock.set('2026-12-04T10:30:00Z');
  apps.command = await startApp('command', ns.env);
  const [item] = await eventually(
    () => {
      const items = itemsOf(tablet.received, id);
      expect(items).toHaveLength(1);
      return items;
    },
    { timeoutMs: 60_000, what: 'the brief after the restart' },
  );
  expect(item!.brief).toEqual({ at: '2026-12-04T09:00:00.000Z', date: '2026-12-04' });

  // Once: another restart, and time passing, add nothing to the store's feed.
  await apps.command.kill('SIGKILL');
  apps.command = await startApp('command', ns.env);
  clock.set('2026-12-05T10:00:00Z');
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  const feed = await request(apps.gateway.url)
    .get(`/v1/stores/${store}/feed?after=0`)
    .set(bearer(api.token('hq-admin')))
    .expect(200);
  const entries = (feed.body.items as FeedItem[]).filter((i) => 'communication' in i && i.communication.id === id);
  expect(entries).toHaveLength(1);
  expect(itemsOf(tablet.received, id)).toHaveLength(1);
});
