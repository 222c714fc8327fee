/**
 * Probe (experiment): end to end at N terminals with some processes at a lower CPU
 * priority on alternate rounds, so both groups share the box's moments.
 * PROBE_NICE="projector=10,command=5,kafka=5"; `node dist/bench/probes/nice-ab.js [terminals] [rounds]`.
 */
import { readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { openBareFanout } from '../fanout-floor.bench';
import { Fleet } from '../lib/fleet';
import { summary } from '../lib/results';
import { warmBroker } from '../lib/broker-warmth';
import { draftNotices, publish, publishRounds, setUpStores, startStack, terminalsOf, untilQuiet } from '../lib/stack';
import { benchInfra, runMain } from '../support';

/** Publishes before the rounds counted, and most publishes to warm the broker first (as `end-to-end`). */
const WARMUP = 20;
const BROKER_WARM_UP = 1_500;

function renice(pid: number, nice: number): void {
  for (const tid of readdirSync(`/proc/${pid}/task`))
    execFileSync('renice', ['-n', String(nice), '-p', tid], { stdio: 'ignore' });
}

async function main(): Promise<void> {
  const terminals = Number(process.argv[2] ?? 1000);
  const rounds = Number(process.argv[3] ?? 60);
  const infra = await benchInfra();
  const stack = await startStack(infra);
  const fleet = Fleet.for(terminals);
  const targets = (process.env.PROBE_NICE ?? 'projector=10')
    .split(',')
    .map((s) => s.split('='))
    .map(([name, nice]) => ({
      pid: name === 'kafka' ? infra.kafkaPid! : stack.processes[name as 'projector']!.pid!,
      nice: Number(nice),
    }));
  try {
    const stores = await setUpStores(stack, 10);
    const drafts = await draftNotices(stack, rounds + WARMUP + BROKER_WARM_UP);
    await warmBroker(infra.kafkaPid, drafts.splice(0, BROKER_WARM_UP), async (id) => void (await publish(stack, id)));
    await fleet.connect('terminal', stack.urls.gateway, await terminalsOf(stack, stores, terminals));
    const bare = await openBareFanout('socketio', terminals);
    await untilQuiet(stack, 1_000);
    const niced = new Set<number>();
    const { latencies, paired, accepted } = await publishRounds(
      stack,
      fleet,
      drafts,
      terminals,
      WARMUP,
      async () => (await bare.round()).last,
      {
        beforePublish: (round) => {
          const on = round % 2 === 0;
          if (on) niced.add(round);
          for (const t of targets) renice(t.pid, on ? t.nice : 0);
        },
      },
    );
    const split = (xs: number[], on: boolean) => xs.filter((_, i) => niced.has(i + WARMUP) === on);
    const ratio = (xs: number[], fs: number[]) => summary(xs).p50 / summary(fs).p50;
    for (const on of [true, false]) {
      console.log(
        JSON.stringify({
          niced: on,
          ours: summary(split(latencies, on)),
          accepted: summary(split(accepted, on)).p50,
          bare: summary(split(paired, on)),
          ratioP50: ratio(split(latencies, on), split(paired, on)).toFixed(2),
        }),
      );
    }
    await bare.close();
  } finally {
    for (const t of targets) renice(t.pid, 0);
    await fleet.close().catch(() => undefined);
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
