/**
 * Reconnect storm: BENCH_TERMINALS (default 2,000) terminals of 20 stores reconnect at
 * once with cursors 20 items behind; time until every one has caught up to its store's
 * head, through the whole stack (gateway reading the feeds from Redis), against the same
 * clients connecting to a bare Socket.IO server that sends the same items from memory
 * (bench/bare-socketio-server.ts), same run. Servers and clients are separate processes.
 */
import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import type { FeedMessage } from '@lastmeter/contracts';
import { TerminalClient, MemoryCursorStore } from '@lastmeter/terminal-client';
import { sized } from './lib/results';
import { setUpStores, startStack } from './lib/stack';
import { benchInfra, percentile, runMain, writeResults, type Measurement } from './support';

const TERMINALS = Number(process.env.BENCH_TERMINALS ?? sized({ full: 2_000, quick: 500, tiny: 20 }));
const STORES = 20;
const BEHIND = 20;

interface Storm {
  seconds: number;
  latencies: number[];
}

/** Connects every client at once; resolves when each has received items up to `head`. */
async function storm(
  connect: (i: number, onItem: (item: { feedSeq: number }) => void) => { close(): void },
  head: (i: number) => number,
): Promise<Storm> {
  const started = process.hrtime.bigint();
  const latencies: number[] = [];
  const closers: Array<{ close(): void }> = [];
  await Promise.all(
    Array.from(
      { length: TERMINALS },
      (_, i) =>
        new Promise<void>((resolve) => {
          closers.push(
            connect(i, (item) => {
              if (item.feedSeq === head(i)) {
                latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
                resolve();
              }
            }),
          );
        }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const closer of closers) closer.close();
  return { seconds, latencies: latencies.sort((a, b) => a - b) };
}

function row(name: string, result: Storm): Measurement {
  return {
    name,
    operations: TERMINALS,
    seconds: Number(result.seconds.toFixed(3)),
    perSecond: Math.round(TERMINALS / result.seconds),
    p50ms: Number(percentile(result.latencies, 50).toFixed(1)),
    p99ms: Number(percentile(result.latencies, 99).toFixed(1)),
  };
}

async function main(): Promise<void> {
  const infra = await benchInfra();
  const stack = await startStack(infra);
  const gatewayUrl = stack.urls.gateway;
  try {
    const stores = await setUpStores(stack, STORES);
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const { id } = await stack.command('/communications', {
          kind: 'notice',
          title: `Storm notice ${i}`,
          body: 'Please check the shelf labels in aisle 3 and replace the old prices before opening. '.repeat(10),
          audience: { all: true },
        });
        await stack.command(`/communications/${id}/publish`, {});
      }
    };
    await publish(5);
    const feedOf = (storeId: string) =>
      stack.read<{ headSeq: number; items: FeedMessage[] }>(`/stores/${storeId}/feed?limit=500`);
    const waitForHead = async (head: number) => {
      for (;;) {
        const heads = await Promise.all(stores.map(async (s) => (await feedOf(s)).headSeq));
        if (heads.every((h) => h >= head)) return;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    await waitForHead(5);
    await publish(BEHIND);
    await waitForHead(5 + BEHIND);
    const feeds = Object.fromEntries(await Promise.all(stores.map(async (s) => [s, (await feedOf(s)).items] as const)));
    const head = (i: number) => feeds[stores[i % STORES]].length;
    const cursor = (i: number) => head(i) - BEHIND;
    const tokens = Array.from({ length: TERMINALS }, (_, i) =>
      stack.token('terminal', { sub: `storm-${i}`, storeId: stores[i % STORES] }),
    );

    console.error(`reconnect storm: ${TERMINALS} terminals, ${BEHIND} items behind, against Last Meter…`);
    const lastMeter = await storm((i, onItem) => {
      const client = new TerminalClient({
        url: gatewayUrl,
        token: tokens[i],
        cursors: new MemoryCursorStore({ cursor: cursor(i) }),
        reconnection: true,
      });
      client.onItem(onItem);
      void client.connect().catch((error: unknown) => console.error(`terminal ${i}: ${(error as Error).message}`));
      return client;
    }, head);

    console.error('…and against a bare Socket.IO server sending the same items from memory');
    const bare = spawn(process.execPath, [join(__dirname, 'bare-socketio-server.js')], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    bare.stdin.end(JSON.stringify(feeds));
    const barePort = await new Promise<number>((resolve) =>
      bare.stdout.once('data', (d: Buffer) => resolve(Number(d.toString()))),
    );
    const baseline = await storm((i, onItem) => {
      const socket = io(`http://127.0.0.1:${barePort}/terminal`, {
        transports: ['websocket'],
        auth: { storeId: stores[i % STORES], cursor: cursor(i) },
      });
      socket.on('feed', onItem);
      return { close: () => socket.disconnect() };
    }, head);
    bare.kill();

    const ours = row(`Last Meter gateway: ${TERMINALS} terminals resume ${BEHIND} items behind`, lastMeter);
    const theirs = row(`bare Socket.IO server, same clients and items from memory`, baseline);
    writeResults(
      'reconnect-storm',
      {
        machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
        terminals: TERMINALS,
        stores: STORES,
        'items behind': BEHIND,
        'time to all caught up, Last Meter / bare': Number((lastMeter.seconds / baseline.seconds).toFixed(2)),
      },
      [ours, theirs],
      {
        title: `Reconnect storm: ${TERMINALS} terminals ${BEHIND} items behind reconnect at once`,
        metrics: [
          {
            name: 'time until every terminal caught up',
            unit: 's',
            value: lastMeter.seconds,
            baseline: baseline.seconds,
            baselineName: 'bare Socket.IO, same items from memory',
            lowerIsBetter: true,
          },
        ],
      },
    );
  } finally {
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
