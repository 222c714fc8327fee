import {
  topicNames,
  type DomainEvent,
  type FeedMessage,
  type Hello,
  type FeedItems,
  type LiveSetChunk,
} from '@lastmeter/contracts';
import { FIRST_GENERATION, RedisKeys } from '@lastmeter/read-models';
import { createRedisClient } from '@lastmeter/redis';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { buildNativeClient, NativeTerminal, type NativeEvent } from '../support/native-client';
import { feedHeadReached } from '../support/read-side';
import { handshakeOutcome } from '../support/recording-terminal';
import { Publisher } from '../support/write-api';

/**
 * A native Android tablet: socket.io-client-java 2.1.1 (test/native/java), whose handshake
 * `auth` can only hold strings, against the real gateway (docs/terminal-protocol.md).
 * Java 17 and Maven are required: without them the suite fails with one line saying what
 * to install.
 */
const ns = testNamespace('native-client');
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let runtime: { java: string; classpath: string };
let store: string;
const natives: NativeTerminal[] = [];
const witnesses: TerminalClient[] = [];

beforeAll(async () => {
  // Maven runs only when the sources changed since the last build (target/ keeps it).
  [runtime, apps] = await Promise.all([buildNativeClient(), startApps(ns.env)]);
  api = new Publisher(apps.command.url, ns);
  store = await api.store('A1', await api.region('android'));
}, 300_000);

afterAll(async () => {
  await Promise.all(natives.map((n) => n.close()));
  for (const witness of witnesses) witness.close();
  if (apps) await stopApps(apps);
  await cleanupNamespace(ns);
});

function nativeTerminal(): NativeTerminal {
  const terminal = new NativeTerminal(runtime.java, runtime.classpath, apps.gateway.url);
  natives.push(terminal);
  return terminal;
}

/** The first event of `kind` printed at or after index `from`, once it is there. */
function next(terminal: NativeTerminal, kind: string, from = 0): Promise<NativeEvent> {
  return eventually(
    () => {
      const found = terminal.since(from).find((e) => e.event === kind);
      if (!found) throw new Error(`no ${kind} yet; printed: ${JSON.stringify(terminal.since(from))}`);
      return found;
    },
    { what: `${kind} from the native client`, timeoutMs: 30_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${terminal.diagnostics()}`);
  });
}

/** A Node terminal of the same store: it has an item once the command service announced it. */
async function witness(): Promise<FeedMessage[]> {
  const received: FeedMessage[] = [];
  const client = new TerminalClient({
    url: apps.gateway.url,
    token: (await api.terminal(store)).token,
    cursors: new MemoryCursorStore(),
  });
  witnesses.push(client);
  client.onItem((item) => received.push(item));
  await client.connect();
  return received;
}

const idOf = (m: FeedMessage) => ('communication' in m ? m.communication.id : 'hidden');

/** The `feed` items (and the items of `feed.snapshot` and `feed.items` messages) printed since `from`, in order. */
function itemsSince(terminal: NativeTerminal, from: number): FeedMessage[] {
  return terminal
    .since(from)
    .flatMap((e) =>
      e.event === 'feed'
        ? [e.data as FeedMessage]
        : e.event === 'feed.snapshot' || e.event === 'feed.items'
          ? (e.data as LiveSetChunk | FeedItems).items
          : [],
    );
}

it('connects with string auth only, resumes by a decimal-string cursor and gets its receipt acked', async () => {
  const seen = await witness();
  const { token, terminalId } = await api.terminal(store);
  const before = [await api.publish({ title: 'Before 1', audience: { storeIds: [store] } })];
  before.push(await api.publish({ title: 'Before 2', audience: { storeIds: [store] } }));
  await eventually(() => expect(seen.map(idOf)).toEqual(before));
  // The handshake's headSeq and live set come from the read side: wait for the projector too.
  await feedHeadReached(apps.gateway.url, api.token('hq-admin'), store, before.length);

  // 1. The first connect of a new tablet, every auth value a string: "0" (the defect: it
  // was refused as bad-cursor) and "true" for the live set in chunks.
  const android = nativeTerminal();
  android.connect({ token, cursor: '0', snapshotChunks: 'true' });
  const hello = (await next(android, 'hello')).data as Hello;
  expect(hello).toMatchObject({ storeId: store, terminalId, headSeq: 2, snapshot: 2, epoch: expect.any(String) });
  await eventually(() => expect(itemsSince(android, 0)).toHaveLength(2));
  const snapshot = itemsSince(android, 0);
  expect(android.events.filter((e) => e.event === 'feed.snapshot')).toHaveLength(1);
  expect(snapshot.map((m) => [m.feedSeq, idOf(m), m.snapshot])).toEqual([
    [1, before[0], true],
    [2, before[1], true],
  ]);

  // 2. Live items, in order.
  const live = [await api.publish({ title: 'Live 1', audience: { storeIds: [store] } })];
  live.push(await api.publish({ title: 'Live 2', audience: { storeIds: [store] } }));
  await eventually(() => expect(itemsSince(android, 0)).toHaveLength(4));
  const feed = android.events.filter((e) => e.event === 'feed');
  expect(feed.map((e) => e.feedSeq)).toEqual([3, 4]);
  expect(feed.map((e) => idOf(e.data as FeedMessage))).toEqual(live);
  const cursor = feed[feed.length - 1].feedSeq!;

  // 3. Offline while head office publishes three more.
  android.disconnect();
  await next(android, 'disconnect');
  const missed: string[] = [];
  for (let i = 1; i <= 3; i++)
    missed.push(await api.publish({ title: `Missed ${i}`, audience: { storeIds: [store] } }));
  await eventually(() => expect(seen.map(idOf)).toEqual([...before, ...live, ...missed]));
  await feedHeadReached(apps.gateway.url, api.token('hq-admin'), store, 7);

  // 4. Back with the cursor as a decimal string and the epoch of hello: exactly the missed
  // items, in order, and no live set; asked for with `feedBatches: "true"`, all three in
  // one `feed.items` message.
  const back = android.events.length;
  android.connect({ token, cursor: String(cursor), epoch: hello.epoch, feedBatches: 'true' });
  const again = (await next(android, 'hello', back)).data as Hello;
  expect(again).toEqual({
    epoch: hello.epoch,
    headSeq: 7,
    storeId: store,
    terminalId,
    noticeMaxAgeDays: expect.any(Number),
  });
  await eventually(() => expect(itemsSince(android, back)).toHaveLength(3));
  const resumed = itemsSince(android, back);
  expect(resumed.map((m) => [m.feedSeq, idOf(m)])).toEqual([
    [5, missed[0]],
    [6, missed[1]],
    [7, missed[2]],
  ]);
  expect(resumed.some((m) => m.snapshot || m.reset)).toBe(false);
  expect(android.since(back).filter((e) => e.event.startsWith('feed'))).toEqual([
    expect.objectContaining({ event: 'feed.items' }),
  ]);

  // 5. A receipt, acked once Kafka has it; the resend is a duplicate.
  const receipt = { communicationId: missed[2], kind: 'read', revision: 1 };
  android.emit('r1', 'receipt', receipt);
  expect((await next(android, 'ack', back)).data).toEqual({ ok: true });
  const acked = android.events.length;
  android.emit('r2', 'receipt', receipt);
  expect(await next(android, 'ack', acked)).toEqual({ event: 'ack', id: 'r2', data: { ok: true, duplicate: true } });
  const recorded = (await readTopic<DomainEvent>(ns.env.KAFKA_BROKERS!, topics.storeEvents))
    .map((m) => m.value)
    .filter((e) => e.type.startsWith('receipt.'));
  expect(recorded.map((e) => [e.type, e.actor.id, (e.data as { communicationId: string }).communicationId])).toEqual([
    ['receipt.read', terminalId, missed[2]],
  ]);
  // Nothing came twice on the way: every item printed once, in feedSeq order.
  expect(itemsSince(android, 0).map((m) => m.feedSeq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
});

it('refuses a malformed string cursor from the native client with bad-cursor', async () => {
  const { token } = await api.terminal(store);
  const android = nativeTerminal();
  for (const cursor of ['', '-1', '1.5', '1e3', ' 3', '0x10', '9007199254740993']) {
    const from = android.events.length;
    android.connect({ token, cursor });
    const refused = await next(android, 'connect_error', from);
    expect({ cursor, data: refused.data }).toEqual({
      cursor,
      data: { message: expect.stringContaining('cursor must be'), data: { reason: 'bad-cursor' } },
    });
  }
  expect(android.events.some((e) => e.event === 'hello')).toBe(false);
});

it("is refused 'unavailable' while the gateway cannot check it, and connects again on the same socket, as the documented Kotlin tablet does", async () => {
  const { token } = await api.terminal(store);
  // What a projector writes while it re-projects read models that Redis lost
  // (checkIntegrity): meanwhile the gateway cannot check a tablet, and says `unavailable`.
  const recovering = new RedisKeys(ns.env.REDIS_KEY_PREFIX!, FIRST_GENERATION).recovering;
  const redis = createRedisClient(ns.env.REDIS_URL!, 'test-recovering');
  const refusalOf = () => handshakeOutcome(apps.gateway.url, token);
  try {
    await redis.set(recovering, '{}');
    await eventually(async () => expect(await refusalOf()).toBe('unavailable'));
    const android = nativeTerminal();
    android.connect({ token, cursor: '0', snapshotChunks: 'true' });
    expect((await next(android, 'connect_error')).data).toEqual({
      message: expect.any(String),
      data: { reason: 'unavailable' },
    });
    // Socket.IO never retries a refused handshake: without the app's retry it stays offline.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(android.events.filter((e) => e.event === 'connect' || e.event === 'hello')).toEqual([]);

    await redis.del(recovering);
    await eventually(async () => expect(await refusalOf()).toBe('connected'));
    // The app's retry: the same socket, the same auth map.
    const from = android.events.length;
    android.reconnect();
    expect((await next(android, 'hello', from)).data).toMatchObject({ storeId: store, snapshot: expect.any(Number) });
  } finally {
    await redis.del(recovering);
    redis.disconnect();
  }
});
