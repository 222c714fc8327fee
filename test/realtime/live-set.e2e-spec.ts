import request from 'supertest';
import { io, type Socket } from 'socket.io-client';
import {
  SNAPSHOT_CHUNK_ITEMS,
  TERMINAL_NAMESPACE,
  type FeedItem,
  type FeedMessage,
  type FeedPage,
  type Hello,
  type LiveSetChunk,
} from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 16, item 8: a store with a long history. A terminal without a cursor (a new or
 * replaced tablet) gets the store's live set and then live items, not the whole history;
 * a terminal with a cursor still gets exactly what it missed; older entries come on
 * demand, paged backwards (`feed.earlier`). Every expectation is what this test itself
 * published, revised, retracted and let expire.
 */
const ns = testNamespace('live-set');
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let store: string;
const clients: Array<{ close(): void }> = [];

/** What the test did to the store, in its own words. */
const history = {
  published: [] as string[],
  restricted: new Set<string>(),
  revised: new Set<string>(),
  retracted: new Set<string>(),
  expiring: new Set<string>(),
  /** Entries the store's feed must hold: one per publish, revision, retraction and expiry. */
  entries: 0,
};

const HISTORY = 240;

/** Runs `task` for 0..count-1, `width` at a time. */
async function pool(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function headSeq(): Promise<number> {
  const response = await request(apps.gateway.url)
    .get(`/v1/stores/${store}/feed?after=0&limit=1`)
    .set(bearer(api.token('hq-admin')));
  expect(response.status).toBe(200);
  return (response.body as FeedPage).headSeq;
}

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
  const region = await api.region('history');
  store = await api.store('H1', region);
  // Years of history in miniature: every 30th notice for stock only, every 25th expiring soon.
  const ids: string[] = new Array(HISTORY);
  await pool(HISTORY, 8, async (i) => {
    const restricted = i % 30 === 7;
    const expiring = i % 25 === 3;
    const id = await api.publish(
      { title: `History ${i}`, audience: { storeIds: [store], ...(restricted ? { roles: ['stock'] } : {}) } },
      expiring ? { expiresAt: new Date(Date.now() + 4_000).toISOString() } : {},
    );
    ids[i] = id;
    if (restricted) history.restricted.add(id);
    if (expiring) history.expiring.add(id);
  });
  history.published.push(...ids);
  // Revise some, retract others (never an expiring one, whose fate is its expiry).
  const others = ids.filter((id) => !history.expiring.has(id));
  const toRevise = others.filter((_, i) => i % 10 === 1);
  const toRetract = others.filter((_, i) => i % 4 === 2);
  await pool(toRevise.length, 8, async (i) => {
    await api.revise(toRevise[i], { title: 'Revised' });
    history.revised.add(toRevise[i]);
  });
  await pool(toRetract.length, 8, async (i) => {
    await api.retract(toRetract[i]);
    history.retracted.add(toRetract[i]);
  });
  history.entries = HISTORY + history.revised.size + history.retracted.size + history.expiring.size;
  // Until every entry (the expiries included) is in the store's feed on the read side.
  await eventually(async () => expect(await headSeq()).toBe(history.entries), {
    timeoutMs: 60_000,
    what: 'the whole history in the feed',
  });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

/** The communications live in the store now, by the test's own account. */
function expectedLive(): string[] {
  return history.published.filter((id) => !history.retracted.has(id) && !history.expiring.has(id));
}

async function terminal(options: { roles?: string[]; token?: string; cursor?: number; epoch?: string } = {}) {
  const token = options.token ?? (await api.terminal(store, options.roles ?? [])).token;
  const received: FeedMessage[] = [];
  const client = new TerminalClient({
    url: apps.gateway.url,
    token,
    cursors: new MemoryCursorStore(
      options.cursor !== undefined ? { cursor: options.cursor, epoch: options.epoch } : undefined,
    ),
  });
  clients.push(client);
  client.onItem((item) => received.push(item));
  const hello = await client.connect();
  return { client, received, hello, token };
}

const visible = (messages: FeedMessage[]) => messages.filter((m): m is FeedItem & FeedMessage => 'communication' in m);

it('gives a terminal without a cursor the live set at the head, then live items', async () => {
  const t = await terminal();
  expect(t.hello.headSeq).toBe(history.entries);
  const live = expectedLive();
  const shown = live.filter((id) => !history.restricted.has(id));
  expect(t.hello.snapshot).toBe(live.length);
  await eventually(() => expect(t.received).toHaveLength(live.length));
  expect(t.received.every((m) => m.snapshot === true && m.feedSeq <= t.hello.headSeq)).toBe(true);
  const seqs = t.received.map((m) => m.feedSeq);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seqs).size).toBe(seqs.length);
  // Exactly the live communications, each at its current revision; stock-only ones hidden.
  const items = visible(t.received);
  expect(items.map((m) => m.communication.id).sort()).toEqual([...shown].sort());
  expect(t.received.filter((m) => 'hidden' in m)).toHaveLength(live.length - shown.length);
  for (const item of items) {
    const revised = history.revised.has(item.communication.id);
    expect([item.change, item.communication.revision, item.communication.title.startsWith('Revised')]).toEqual(
      revised ? ['revised', 2, true] : ['published', 1, false],
    );
  }
  // The cursor is the head; live items follow with no gap and no flag.
  expect(t.client.position).toBe(history.entries);
  const fresh = await api.publish({ title: 'After the snapshot', audience: { storeIds: [store] } });
  const gone = shown[0];
  await eventually(() =>
    expect(t.received.some((m) => 'communication' in m && m.communication.id === fresh)).toBe(true),
  );
  await api.retract(gone);
  history.published.push(fresh);
  history.retracted.add(gone);
  history.entries += 2;
  await eventually(() => expect(t.received).toHaveLength(live.length + 2));
  const after = t.received.slice(live.length);
  expect(after.map((m) => [m.feedSeq, m.snapshot, 'communication' in m && m.communication.id])).toEqual([
    [t.hello.headSeq + 1, undefined, fresh],
    [t.hello.headSeq + 2, undefined, gone],
  ]);
  expect(visible(after).map((m) => m.change)).toEqual(['published', 'retracted']);
  expect(t.client.position).toBe(history.entries);
  // Live items came on commit; the next test's handshake reads the feed on the read side.
  await eventually(async () => expect(await headSeq()).toBe(history.entries));
});

it('shows a terminal serving the role the restricted items of its live set', async () => {
  const t = await terminal({ roles: ['stock'] });
  const live = expectedLive();
  expect(t.hello).toMatchObject({ headSeq: history.entries, snapshot: live.length });
  await eventually(() => expect(t.received).toHaveLength(live.length));
  expect(
    visible(t.received)
      .map((m) => m.communication.id)
      .sort(),
  ).toEqual([...live].sort());
});

it('still gives a terminal with a cursor exactly what it missed', async () => {
  const first = await terminal();
  await eventually(() => expect(first.received).toHaveLength(first.hello.snapshot!));
  const held = first.client.position;
  first.client.close();
  const missed: string[] = [];
  for (let i = 0; i < 3; i++) missed.push(await api.publish({ title: `Missed ${i}`, audience: { storeIds: [store] } }));
  history.published.push(...missed);
  history.entries += 3;
  await eventually(async () => expect(await headSeq()).toBe(history.entries));
  const back = await terminal({ token: first.token, cursor: held, epoch: first.hello.epoch });
  expect(back.hello.snapshot).toBeUndefined();
  await eventually(() => expect(back.received).toHaveLength(3));
  expect(back.received.map((m) => [m.feedSeq, m.snapshot, 'communication' in m && m.communication.id])).toEqual(
    missed.map((id, i) => [held + 1 + i, undefined, id]),
  );
});

it('starts a terminal whose cursor is from another log from the live set, marked reset', async () => {
  const t = await terminal({ cursor: 5, epoch: 'another-log' });
  const live = expectedLive();
  expect(t.hello).toMatchObject({ headSeq: history.entries, snapshot: live.length });
  await eventually(() => expect(t.received).toHaveLength(live.length));
  expect(t.received[0].reset).toBe(true);
  expect(t.received.slice(1).some((m) => m.reset)).toBe(false);
  expect(
    visible(t.received)
      .map((m) => m.communication.id)
      .sort(),
  ).toEqual(live.filter((id) => !history.restricted.has(id)).sort());
  expect(t.client.position).toBe(history.entries);
});

it('serves a client that does not know snapshots the live set as plain feed items', async () => {
  const { token } = await api.terminal(store);
  const received: FeedMessage[] = [];
  const socket: Socket = io(`${apps.gateway.url}${TERMINAL_NAMESPACE}`, {
    auth: { token, cursor: 0 },
    transports: ['websocket'],
    reconnection: false,
  });
  clients.push({ close: () => socket.disconnect() });
  socket.on('feed', (message: FeedMessage) => received.push(message));
  const hello = await new Promise<Hello>((resolve) => socket.once('hello', resolve));
  const live = expectedLive().filter((id) => !history.restricted.has(id));
  await eventually(() => expect(received).toHaveLength(hello.snapshot!));
  expect(
    visible(received)
      .map((m) => m.communication.id)
      .sort(),
  ).toEqual([...live].sort());
});

it('sends a terminal that asks for chunks its live set in feed.snapshot messages, then live items as feed', async () => {
  const { token } = await api.terminal(store);
  const chunks: LiveSetChunk[] = [];
  const feed: FeedMessage[] = [];
  const socket: Socket = io(`${apps.gateway.url}${TERMINAL_NAMESPACE}`, {
    auth: { token, cursor: 0, snapshotChunks: true },
    transports: ['websocket'],
    reconnection: false,
  });
  clients.push({ close: () => socket.disconnect() });
  socket.on('feed.snapshot', (chunk: LiveSetChunk) => chunks.push(chunk));
  socket.on('feed', (message: FeedMessage) => feed.push(message));
  const hello = await new Promise<Hello>((resolve) => socket.once('hello', resolve));
  const live = expectedLive();
  expect(hello).toMatchObject({ headSeq: history.entries, snapshot: live.length });
  await eventually(() => expect(chunks.flatMap((chunk) => chunk.items)).toHaveLength(live.length));
  expect(chunks).toHaveLength(Math.ceil(live.length / SNAPSHOT_CHUNK_ITEMS));
  expect(chunks.every((chunk) => chunk.items.length > 0 && chunk.items.length <= SNAPSHOT_CHUNK_ITEMS)).toBe(true);
  const items = chunks.flatMap((chunk) => chunk.items);
  expect(items.every((m) => m.snapshot === true && m.feedSeq <= hello.headSeq && !m.reset)).toBe(true);
  const seqs = items.map((m) => m.feedSeq);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(
    visible(items)
      .map((m) => m.communication.id)
      .sort(),
  ).toEqual(live.filter((id) => !history.restricted.has(id)).sort());
  expect(items.filter((m) => 'hidden' in m)).toHaveLength(live.filter((id) => history.restricted.has(id)).length);
  // None of it as `feed`; a live item comes as `feed`, right after the head.
  expect(feed).toEqual([]);
  const fresh = await api.publish({ title: 'After the chunks', audience: { storeIds: [store] } });
  history.published.push(fresh);
  history.entries += 1;
  await eventually(() =>
    expect(feed.map((m) => [m.feedSeq, m.snapshot, 'communication' in m && m.communication.id])).toEqual([
      [hello.headSeq + 1, undefined, fresh],
    ]),
  );
  expect(chunks.flatMap((chunk) => chunk.items)).toHaveLength(live.length);
  await eventually(async () => expect(await headSeq()).toBe(history.entries));
});

it('pages backwards through the whole history on demand, role-restricted entries hidden', async () => {
  const stock = await terminal({ roles: ['stock'] });
  const plain = await terminal();
  const head = stock.hello.headSeq;
  expect(head).toBe(history.entries);

  async function everything(t: { client: TerminalClient }, limit: number): Promise<FeedMessage[]> {
    const all: FeedMessage[] = [];
    let before: number | undefined = head + 1;
    while (before !== undefined) {
      const page = await t.client.earlier(before, limit);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      all.push(...page.items);
      before = page.next;
    }
    return all;
  }

  const pages = await everything(stock, 70);
  expect(pages.map((m) => m.feedSeq)).toEqual(Array.from({ length: head }, (_, i) => head - i));
  // Every entry the test caused, once each.
  const expected = [
    ...history.published.map((id) => `${id} published`),
    ...[...history.revised].map((id) => `${id} revised`),
    ...[...history.retracted].map((id) => `${id} retracted`),
    ...[...history.expiring].map((id) => `${id} expired`),
  ].sort();
  expect(
    visible(pages)
      .map((m) => `${m.communication.id} ${m.change}`)
      .sort(),
  ).toEqual(expected);

  // A terminal without the role gets the same positions, the restricted ones hidden.
  const plainPages = await everything(plain, 200);
  expect(plainPages.map((m) => m.feedSeq)).toEqual(pages.map((m) => m.feedSeq));
  const restrictedSeqs = visible(pages)
    .filter((m) => history.restricted.has(m.communication.id))
    .map((m) => m.feedSeq);
  expect(restrictedSeqs.length).toBeGreaterThan(0);
  expect(plainPages.filter((m) => 'hidden' in m).map((m) => m.feedSeq)).toEqual(restrictedSeqs);

  // History does not move the cursor, and a bad request is refused with its field.
  expect(stock.client.position).toBe(head);
  await expect(stock.client.earlier(0)).rejects.toThrow('invalid feed.earlier');
});
