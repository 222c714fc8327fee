import type { AppConfig } from '@lastmeter/config';
import type { FeedItem } from '@lastmeter/read-models';
import type { ReadModels } from '../read/read-models.service';
import { FeedRelay, type TerminalSession } from './feed-relay';
import type { GatewayMetrics } from './gateway-metrics';
import type { NotificationHub, StoreFeedNotice } from './notification-hub';

/**
 * The relay's rounds against an in-memory store feed (the two Redis commands `readFeed`
 * sends) and sockets that record what they are sent. The e2e suites drive the real thing
 * (test/realtime); this one times a wake exactly where a round awaits.
 */
const STORE = 'store-1';

function item(feedSeq: number): FeedItem {
  return {
    feedSeq,
    at: new Date(0).toISOString(),
    change: 'published',
    communication: { id: `c-${feedSeq}`, revision: 1, kind: 'notice', title: `#${feedSeq}`, body: '' },
  } as unknown as FeedItem;
}

/** `multi().zrangebyscore(key, '(after', …, limit).zrange(…).exec()` over `feed`. */
function redisOver(feed: FeedItem[]) {
  return {
    multi() {
      let after = 0;
      let limit = Infinity;
      const chain = {
        zrangebyscore(_key: string, min: string, _max: string, _l: string, _offset: number, count: number) {
          after = Number(min.slice(1));
          limit = count;
          return chain;
        },
        zrange: () => chain,
        exec: async () => {
          const members = feed.filter((i) => i.feedSeq > after).slice(0, limit);
          const head = feed.at(-1);
          return [
            [null, members.map((i) => JSON.stringify(i))],
            [null, head ? [JSON.stringify(head), String(head.feedSeq)] : []],
          ];
        },
      };
      return chain;
    },
  };
}

function terminal(id: string, cursor: number) {
  const received: number[] = [];
  const socket = {
    id,
    conn: { writeBuffer: [] as unknown[] },
    emit: (_event: string, message: { feedSeq: number }) => received.push(message.feedSeq),
  };
  const session: TerminalSession = {
    socket: socket as unknown as TerminalSession['socket'],
    storeId: STORE,
    terminalId: id,
    claims: { sub: id, role: 'terminal', storeId: STORE } as unknown as TerminalSession['claims'],
    cursor,
    reset: false,
    closed: false,
    connectedAt: 0,
  };
  return { session, received };
}

/**
 * A relay over `feed` whose notices and resyncs the test sends itself. `beforeKeys`: what
 * each call of the read models' `keys()` waits for first (its call number given).
 */
function relayOver(feed: FeedItem[], beforeKeys: (call: number) => Promise<void> = async () => undefined) {
  let onFeed!: (storeId: string, notice: StoreFeedNotice) => void;
  let onResync!: () => void;
  let calls = 0;
  const models = {
    redis: redisOver(feed),
    keys: async () => {
      await beforeKeys(calls++);
      return { model: (name: string, id: string) => `${name}:${id}` };
    },
  } as unknown as ReadModels;
  const hub = {
    onFeed: (listener: typeof onFeed) => (onFeed = listener),
    onResync: (listener: typeof onResync) => (onResync = listener),
  } as unknown as NotificationHub;
  const config = { GATEWAY_MAX_BUFFERED_PACKETS: 100 } as AppConfig<'gateway'>;
  const metrics = new Proxy({}, { get: () => () => undefined }) as GatewayMetrics;
  const relay = new FeedRelay(models, hub, config, metrics);
  return {
    relay,
    notice: (notice: StoreFeedNotice) => onFeed(STORE, notice),
    resync: () => onResync(),
    keysCalls: () => calls,
  };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('FeedRelay', () => {
  it('hands a terminal attaching while no projector runs the items the others were handed on commit, after a resync too', async () => {
    // Redis has 1–3 (the projector stopped there); item 4 is committed and announced on commit only.
    const { relay, notice, resync } = relayOver([1, 2, 3].map(item));
    const first = terminal('a', 3);
    relay.attach(first.session);
    await settle();
    notice({ head: 4, items: [JSON.stringify(item(4))], projected: false, traces: [] });
    await settle();
    expect(first.received).toEqual([4]);
    // A resync reads Redis after the lowest cursor (4): nothing there, and Redis's head is still 3.
    resync();
    await settle();
    const late = terminal('c', 3);
    relay.attach(late.session);
    await settle();
    expect(late.received).toEqual([4]);
    expect(first.received).toEqual([4]);
  });

  it('serves a terminal that attached while a round waited for the read models (the next round reads Redis for it)', async () => {
    let release!: () => void;
    const firstKeys = new Promise<void>((resolve) => (release = resolve));
    const { relay, keysCalls } = relayOver([1, 2, 3].map(item), (call) => (call === 0 ? firstKeys : Promise.resolve()));

    const first = terminal('a', 0);
    relay.attach(first.session);
    // The round for `a` now waits for the keys; `b` attaches meanwhile, at the same cursor.
    await new Promise((resolve) => setImmediate(resolve));
    const second = terminal('b', 0);
    relay.attach(second.session);
    release();
    await settle();

    expect(first.received).toEqual([1, 2, 3]);
    expect(second.received).toEqual([1, 2, 3]);
    expect(keysCalls()).toBe(2);
  });
});
