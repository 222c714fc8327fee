/**
 * Memory per connection: the gateway's heap and RSS per connected terminal at N, against
 * a bare Socket.IO server holding the same number of connections, same run. Goal: heap
 * per connection ≤ 1.3 × bare.
 */
import { join } from 'node:path';
import { BareServer, Fleet } from './lib/fleet';
import { procStats } from './lib/proc-stats';
import { sized, writeScenario } from './lib/results';
import { setUpStores, startStack, terminalsOf } from './lib/stack';
import { benchInfra, runMain } from './support';

const N = sized({ full: 10_000, quick: 1_000, tiny: 20 });
const STORES = sized({ full: 10, quick: 5, tiny: 2 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The live heap: heapUsed right after a full collection (each sample forces one), the
 * lowest of a few samples ~2 s apart; RSS is the last sample. Without the forced
 * collection, the old generation's garbage from connecting thousands of sockets counted
 * for whichever side had not had a major GC yet (13.6 and 19.3 KiB per terminal in two
 * runs of the same build).
 */
async function settled(sample: () => Promise<{ heap: number; rss: number }>) {
  let heap = Number.POSITIVE_INFINITY;
  let rss = 0;
  for (let i = 0; i < sized({ full: 5, quick: 4, tiny: 2 }); i++) {
    const now = await sample();
    heap = Math.min(heap, now.heap);
    rss = now.rss;
    await sleep(sized({ full: 2_000, quick: 2_000, tiny: 250 }));
  }
  return { heap, rss };
}

async function main(): Promise<void> {
  const infra = await benchInfra();
  // The apps collect fully on SIGWINCH (bench/lib/gc-on-signal.ts) before each heap sample.
  process.env.BENCH_APP_NODE_ARGS =
    `${process.env.BENCH_APP_NODE_ARGS ?? ''} --expose-gc --require ${join(__dirname, 'lib', 'gc-on-signal.js')}`.trim();
  const stack = await startStack(infra);
  try {
    const stores = await setUpStores(stack, STORES);
    const clients = await terminalsOf(stack, stores, N);
    const gatewayPid = stack.processes.gateway!.pid!;
    const gatewayMemory = async () => {
      process.kill(gatewayPid, 'SIGWINCH');
      await sleep(500);
      return {
        heap: await stack.metric('gateway', 'nodejs_heap_size_used_bytes'),
        rss: procStats(gatewayPid).rssBytes,
      };
    };
    const ourBefore = await settled(gatewayMemory);
    const fleet = Fleet.for(N);
    await fleet.connect('terminal', stack.urls.gateway, clients);
    const ourAfter = await settled(gatewayMemory);
    await fleet.close();

    const bare = await BareServer.start('socketio');
    const bareMemory = async () => {
      const usage = await bare.memory();
      return { heap: usage.heapUsed, rss: usage.rss };
    };
    const bareBefore = await settled(bareMemory);
    const bareFleet = Fleet.for(N);
    await bareFleet.connect(
      'socketio',
      bare.url,
      Array.from({ length: N }, () => ({})),
    );
    const bareAfter = await settled(bareMemory);
    await bareFleet.close();
    await bare.stop();

    const per = (after: number, before: number) => (after - before) / N / 1024;
    writeScenario({
      scenario: 'memory',
      title: `Memory per connected terminal at N = ${N}`,
      parameters: {
        terminals: N,
        stores: STORES,
        gateway: { before: ourBefore, after: ourAfter },
        bareSocketIo: { before: bareBefore, after: bareAfter },
      },
      metrics: [
        {
          name: 'heap per connection',
          unit: 'KiB',
          value: per(ourAfter.heap, ourBefore.heap),
          baseline: per(bareAfter.heap, bareBefore.heap),
          baselineName: 'bare Socket.IO',
          lowerIsBetter: true,
          goal: 1.3,
        },
        {
          name: 'RSS per connection',
          unit: 'KiB',
          value: per(ourAfter.rss, ourBefore.rss),
          baseline: per(bareAfter.rss, bareBefore.rss),
          baselineName: 'bare Socket.IO',
          lowerIsBetter: true,
        },
      ],
    });
  } finally {
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
