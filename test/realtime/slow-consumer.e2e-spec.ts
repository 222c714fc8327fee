/**
 * @exclusive Terminals that read late are cut off after a time: others must read in time. (test/setup/e2e-environment.ts)
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { feedEvent, type FeedMessage } from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { StoreEventWriter } from '../support/store-events';
import { bearer, Publisher } from '../support/write-api';

/** A terminal that stops reading is cut off past a bounded buffer; the others do not wait for it. */
const ns = testNamespace('slow', { GATEWAY_MAX_BUFFERED_PACKETS: '20' });
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let log: StoreEventWriter;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
  log = new StoreEventWriter(ns);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await log?.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

async function terminal(storeId: string, cursor?: number) {
  const { token, terminalId } = await api.terminal(storeId);
  const received: FeedMessage[] = [];
  const cursors = new MemoryCursorStore(cursor === undefined ? undefined : { cursor });
  const client = new TerminalClient({ url: apps.gateway.url, token, cursors });
  clients.push(client);
  client.onItem((item) => received.push(item));
  await client.connect();
  return { client, received, terminalId };
}

/**
 * Large feed entries written straight to lastmeter.feed.v1 (numbered as the write side
 * would: this store has no other entries), to fill socket buffers quickly.
 */
async function bigEntries(storeId: string, from: number, count: number, size = 100_000): Promise<void> {
  const body = 'x'.repeat(size);
  for (let start = from; start < from + count; start += 5) {
    const entries = Array.from({ length: Math.min(5, from + count - start) }, (_, i) => {
      const feedSeq = start + i;
      return feedEvent(
        {
          storeId,
          feedSeq,
          change: 'published',
          communication: {
            id: randomUUID(),
            revision: 1,
            kind: 'notice',
            title: `Big ${feedSeq}`,
            body,
            priority: 'normal',
          },
          sourceVersion: 1,
        },
        randomUUID(),
      );
    });
    await log.send(storeId, entries, log.topics.feed);
  }
}

it('disconnects a terminal that stopped reading, keeps serving the others, and resumes it from its cursor', async () => {
  const region = await api.region('slow');
  const store = await api.store('SL1', region);
  const fast = await terminal(store);
  const slow = await terminal(store);
  // The slow tablet stops reading its socket (the kernel buffers fill, then the gateway's).
  const tcp = (
    slow.client.socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }
  ).ws._socket;
  tcp.pause();
  const total = 300;
  await bigEntries(store, 1, total);

  await eventually(
    () => expect(fast.received.map((m) => m.feedSeq)).toEqual(Array.from({ length: total }, (_, i) => i + 1)),
    {
      timeoutMs: 60_000,
    },
  );
  await eventually(() =>
    expect(apps.gateway.output.some((line) => line.includes(`terminal ${slow.terminalId} is not reading`))).toBe(true),
  );

  // When it reads again it finds itself disconnected, reconnects, and gets the rest in order.
  const disconnected = new Promise<string>((resolve) => slow.client.socket.once('disconnect', resolve));
  tcp.resume();
  expect(await disconnected).toBe('io server disconnect');
  expect(slow.received.length).toBeLessThan(total);
  // …and counted: one slow-consumer disconnect (docs/observability.md).
  const metrics = (await request(apps.gateway.url).get('/metrics').expect(200)).text;
  expect(metrics).toMatch(/^lastmeter_gateway_slow_consumer_disconnects_total\{app="gateway"\} 1$/m);
  await slow.client.connect();
  await eventually(
    () => expect(slow.received.map((m) => m.feedSeq)).toEqual(Array.from({ length: total }, (_, i) => i + 1)),
    {
      timeoutMs: 60_000,
    },
  );
});

it('sends a backlog of several pages to a terminal of a store this gateway heard nothing of yet', async () => {
  const region = await api.region('backlog');
  const store = await api.store('BL1', region);
  const total = 450;
  await bigEntries(store, 1, total, 100);
  // In Redis before the terminal comes: no notice reaches a pump for the store.
  await eventually(async () => {
    const { body } = await request(apps.gateway.url)
      .get(`/v1/stores/${store}/feed?after=${total - 1}`)
      .set(bearer(api.token('hq-admin')))
      .expect(200);
    expect((body as { items: FeedMessage[] }).items.map((m) => m.feedSeq)).toEqual([total]);
  });
  // From cursor 1: 449 items, more than two pages of FEED_ITEMS_MAX, all in order.
  const late = await terminal(store, 1);
  await eventually(() =>
    expect(late.received.map((m) => m.feedSeq)).toEqual(Array.from({ length: total - 1 }, (_, i) => i + 2)),
  );
});
