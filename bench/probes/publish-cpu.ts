/**
 * Probe (not a scenario): where the box's two cores go during one publish to N terminals.
 * The whole stack runs as in `end-to-end`; before each publish and once the last terminal
 * has the item, it reads every process's threads' scheduler statistics
 * (/proc/<pid>/task/<tid>/schedstat: ns on a CPU, ns waiting for one), and prints per
 * process the mean per round. The same for bare Socket.IO broadcast rounds. And the Kafka
 * requests each app sent per publish, by API (`lastmeter_kafka_requests_total`).
 * `node dist/bench/probes/publish-cpu.js [terminals] [rounds]`; settings PROBE_WARMUP,
 * PROBE_WARM_BROKER, PROBE_THREADS and PROBE_STOP below.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Fleet } from '../lib/fleet';
import { schedTimes } from '../lib/proc-stats';
import { summary } from '../lib/results';
import { publishRounds, startStack } from '../lib/stack';
import { benchInfra, runMain } from '../support';
import { prepareRounds } from './prepare-rounds';

/** PROBE_THREADS=1: per thread name within each process. */
const BY_THREAD = process.env.PROBE_THREADS === '1';
/** PROBE_WARMUP=N: publishes before the rounds counted (default 3). */
const WARMUP = Number(process.env.PROBE_WARMUP ?? 3);
/** PROBE_WARM_BROKER=N: first warm the broker as `end-to-end` does, with at most N publishes (default 0). */
const WARM_BROKER = Number(process.env.PROBE_WARM_BROKER ?? 0);

type Sched = Map<string, { run: number; wait: number; syscr?: number; syscw?: number }>;

function nameOf(pid: string): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const line = cmd.join(' ');
    if (line.includes('kafka.Kafka')) return 'kafka';
    if (cmd[0]?.includes('redis-server')) return 'redis';
    for (const app of ['command', 'projector', 'gateway']) if (line.includes(`apps/${app}/`)) return app;
    if (line.includes('load-clients')) return `load-clients:${pid}`;
    if (line.includes('bare-socketio-server') || line.includes('bare-fanout')) return 'bare-server';
    if (line.includes('publish-cpu')) return 'probe';
    return 'other';
  } catch {
    return 'gone';
  }
}

function sched(): Sched {
  const totals: Sched = new Map();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const name = nameOf(pid);
    if (name === 'gone') continue;
    // Per process, or (PROBE_THREADS) per thread name within it, not both.
    for (const [key, { runMs, waitMs }] of Object.entries(
      schedTimes({ [name]: Number(pid) }, BY_THREAD ? [name] : []),
    )) {
      if (BY_THREAD && key === name) continue;
      const entry = totals.get(key) ?? { run: 0, wait: 0 };
      entry.run += runMs * 1e6;
      entry.wait += waitMs * 1e6;
      totals.set(key, entry);
    }
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      const entry = totals.get(BY_THREAD ? `${name}/io` : name) ?? { run: 0, wait: 0 };
      entry.syscr = (entry.syscr ?? 0) + Number(/syscr: (\d+)/.exec(io)![1]);
      entry.syscw = (entry.syscw ?? 0) + Number(/syscw: (\d+)/.exec(io)![1]);
      totals.set(BY_THREAD ? `${name}/io` : name, entry);
    } catch {
      // gone, or not ours to read
    }
  }
  return totals;
}

function diff(after: Sched, before: Sched, into: Sched): void {
  for (const [name, a] of after) {
    const b = before.get(name) ?? { run: 0, wait: 0 };
    const e = into.get(name) ?? { run: 0, wait: 0, syscr: 0, syscw: 0 };
    e.run += a.run - b.run;
    e.wait += a.wait - b.wait;
    e.syscr! += (a.syscr ?? 0) - (b.syscr ?? 0);
    e.syscw! += (a.syscw ?? 0) - (b.syscw ?? 0);
    into.set(name, e);
  }
}

function print(label: string, totals: Sched, rounds: number): void {
  const rows = [...totals]
    .map(([name, t]) => ({
      name: name.replace(/:\d+$/, ''),
      run: t.run / rounds / 1e6,
      wait: t.wait / rounds / 1e6,
      r: (t.syscr ?? 0) / rounds,
      w: (t.syscw ?? 0) / rounds,
    }))
    .filter((r) => !r.name.startsWith('other/kworker') && (r.run > 0.3 || r.wait > 0.3 || r.w > 1))
    .sort((a, b) => b.run - a.run);
  console.log(
    `${label} (per round, ms): ${rows.map((r) => `${r.name} cpu ${r.run.toFixed(1)} wait ${r.wait.toFixed(1)} reads ${r.r.toFixed(0)} writes ${r.w.toFixed(0)}`).join(' | ')}`,
  );
  console.log(`  total cpu ${rows.reduce((s, r) => s + r.run, 0).toFixed(1)} ms`);
}

type AppName = 'command' | 'projector' | 'gateway';

/** Each app's Kafka requests so far, by `app/API`. */
async function kafkaRequests(urls: Record<AppName, string>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const app of Object.keys(urls) as AppName[]) {
    const text = await (await fetch(`${urls[app]}/metrics`)).text();
    for (const match of text.matchAll(/^lastmeter_kafka_requests_total\{[^}]*api="([^"]+)"[^}]*\} (\S+)$/gm)) {
      counts.set(`${app}/${match[1]}`, Number(match[2]));
    }
  }
  return counts;
}

async function main(): Promise<void> {
  const terminals = Number(process.argv[2] ?? 1000);
  const rounds = Number(process.argv[3] ?? 30);
  const infra = await benchInfra();
  const stack = await startStack(infra);
  const fleet = Fleet.for(terminals);
  try {
    const { drafts, bare } = await prepareRounds(infra, stack, fleet, terminals, rounds + WARMUP, WARM_BROKER);
    const ours: Sched = new Map();
    // The same publishes split at their HTTP answer: the write path, then the fan-out
    // (the notice on commit leaves right before the answer) and what runs beside it.
    const untilAnswer: Sched = new Map();
    const afterAnswer: Sched = new Map();
    let answered: Sched = new Map();
    const theirs: Sched = new Map();
    // PROBE_STOP=projector: that app is stopped (SIGSTOP) for the counted rounds: what its
    // work costs the others, as a diagnostic (the feed still comes with the command's notice).
    const paused = process.env.PROBE_STOP ? stack.processes[process.env.PROBE_STOP as 'projector'] : undefined;
    let requestsBefore = new Map<string, number>();
    let before: Sched = new Map();
    const bareRound = async () => (await bare.round()).last;
    const { latencies, paired } = await publishRounds(stack, fleet, drafts, terminals, WARMUP, bareRound, {
      beforePaired: async (round) => {
        if (round === WARMUP) {
          requestsBefore = await kafkaRequests(stack.urls);
          paused?.kill('SIGSTOP');
        }
        before = sched();
      },
      afterPaired: (round) => {
        if (round >= WARMUP) diff(sched(), before, theirs);
      },
      beforePublish: () => {
        before = sched();
      },
      afterAnswer: (round) => {
        answered = sched();
        if (round >= WARMUP) diff(answered, before, untilAnswer);
      },
      afterDelivery: (round) => {
        if (round < WARMUP) return;
        const delivered = sched();
        diff(delivered, before, ours);
        diff(delivered, answered, afterAnswer);
      },
    });
    paused?.kill('SIGCONT');
    // Between the rounds counted: the bare rounds' share is each app's idle fetching.
    const requests = [...(await kafkaRequests(stack.urls))]
      .map(([key, count]) => [key, (count - (requestsBefore.get(key) ?? 0)) / rounds] as const)
      .filter(([, perRound]) => perRound >= 0.05)
      .sort((a, b) => b[1] - a[1]);
    console.log(`Kafka requests per round: ${requests.map(([key, n]) => `${key} ${n.toFixed(1)}`).join(' | ')}`);
    print('bare broadcast', theirs, rounds);
    print('Last Meter publish', ours, rounds);
    print('  of which until its HTTP answer', untilAnswer, rounds);
    print('  of which from its HTTP answer to the last terminal', afterAnswer, rounds);
    console.log(JSON.stringify({ ours: summary(latencies), bare: summary(paired) }));
    await bare.close();
  } finally {
    await fleet.close().catch(() => undefined);
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
