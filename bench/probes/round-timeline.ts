/**
 * Probe (not a scenario): what every process of the box does, and when, inside a publish
 * to N terminals and inside the bare broadcast of the same round. It runs the stack as
 * `publish-cpu` does, and records the counted rounds' context switches with
 * `perf record -e sched:sched_switch -a -k CLOCK_MONOTONIC` (root; perf from Debian's
 * `linux-perf`), so each process's time on a CPU is known to the microsecond on the clock
 * of the round's marks (process.hrtime). It prints, per process, the CPU it used inside the
 * round (publish → last terminal) and in 5 ms bins from the publish, summed over the rounds
 * and divided by their count; the same for the bare broadcast's rounds.
 * `node dist/bench/probes/round-timeline.js [terminals] [rounds]`; PROBE_WARM_BROKER as in
 * `publish-cpu` (default 1,500); PROBE_SPLIT=kafka,command shows those processes by
 * thread; `round-timeline.js --analyse` prints the last run's tables again (from
 * /tmp/round-timeline.perf and its .json).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Fleet } from '../lib/fleet';
import { summary } from '../lib/results';
import { publishRounds, startStack } from '../lib/stack';
import { benchInfra, runMain } from '../support';
import { prepareRounds } from './prepare-rounds';

const WARMUP = 20;
const WARM_BROKER = Number(process.env.PROBE_WARM_BROKER ?? 1_500);
const BIN_MS = 5;
/** PROBE_SPLIT=kafka,gateway: those processes' threads apart, by name. */
const SPLIT = (process.env.PROBE_SPLIT ?? '').split(',');
const DATA = '/tmp/round-timeline.perf';

/** A process's name for the table, from its command line. */
function nameOf(pid: number): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const line = cmd.join(' ');
    if (line.includes('kafka.Kafka')) return 'kafka';
    if (cmd[0]?.includes('redis-server')) return cmd[0].includes(':6379') ? 'system-redis' : 'redis';
    for (const app of ['command', 'projector', 'gateway']) if (line.includes(`apps/${app}/`)) return app;
    if (line.includes('load-clients')) return 'clients';
    if (line.includes('bare-socketio-server') || line.includes('bare-fanout')) return 'bare-server';
    if (line.includes('round-timeline')) return 'probe';
    if (line.includes('perf')) return 'perf';
    return 'other';
  } catch {
    return 'gone';
  }
}

interface Window {
  start: number;
  end: number;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--analyse') {
    const saved = JSON.parse(readFileSync(`${DATA}.json`, 'utf8')) as {
      ours: Window[];
      theirs: Window[];
      names: Array<[number, string]>;
    };
    return analyse(saved.ours, saved.theirs, new Map(saved.names));
  }
  if (spawnSync('perf', ['--version']).status !== 0) {
    console.error('round-timeline needs perf (as root): apt-get install linux-perf');
    process.exit(1);
  }
  const terminals = Number(process.argv[2] ?? 1000);
  const rounds = Number(process.argv[3] ?? 100);
  const infra = await benchInfra();
  const stack = await startStack(infra);
  const fleet = Fleet.for(terminals);
  const ours: Window[] = [];
  const theirs: Window[] = [];
  const names = new Map<number, string>();
  let perf: ReturnType<typeof spawn> | undefined;
  try {
    const { drafts, bare } = await prepareRounds(infra, stack, fleet, terminals, rounds + WARMUP, WARM_BROKER);
    const now = () => Number(process.hrtime.bigint()) / 1e6;
    let pairedAt = 0;
    let publishedAt = 0;
    const bareRound = async () => {
      pairedAt = now();
      return (await bare.round()).last;
    };
    const { latencies, paired } = await publishRounds(stack, fleet, drafts, terminals, WARMUP, bareRound, {
      beforePaired: async (round) => {
        if (round !== WARMUP) return;
        for (const pid of readdirPids()) names.set(pid, nameOf(pid));
        if (infra.kafkaPid) names.set(infra.kafkaPid, 'kafka');
        perf = spawn('perf', ['record', '-q', '-e', 'sched:sched_switch', '-a', '-k', 'CLOCK_MONOTONIC', '-o', DATA], {
          stdio: 'ignore',
        });
        await new Promise((resolve) => setTimeout(resolve, 2_000)); // perf's start-up
      },
      beforePublish: () => {
        publishedAt = now();
      },
      afterDelivery: (round) => {
        if (round < WARMUP) return;
        theirs.push({ start: pairedAt, end: pairedAt });
        ours.push({ start: publishedAt, end: publishedAt });
      },
    });
    // The windows' ends: the latencies and floors publishRounds measured.
    latencies.forEach((ms, i) => (ours[i].end = ours[i].start + ms));
    // `paired`: the bare broadcast's last client, from the round's start.
    paired.forEach((ms, i) => (theirs[i].end = theirs[i].start + ms));
    perf?.kill('SIGINT');
    await new Promise((resolve) => perf?.once('exit', resolve));
    console.log(JSON.stringify({ ours: summary(latencies), bare: summary(paired) }));
    await bare.close();
  } finally {
    perf?.kill('SIGINT');
    await fleet.close().catch(() => undefined);
    await stack.stop();
    await infra.stop();
  }
  writeFileSync(`${DATA}.json`, JSON.stringify({ ours, theirs, names: [...names] }));
  await analyse(ours, theirs, names);
}

function readdirPids(): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number);
}

/** Run intervals per thread from the switches, then CPU per process inside the windows. */
async function analyse(ours: Window[], theirs: Window[], names: Map<number, string>): Promise<void> {
  const script = spawn('perf', ['script', '-i', DATA, '-F', 'tid,pid,cpu,time,trace'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const tgid = new Map<number, number>();
  const comms = new Map<number, string>();
  const current = new Map<number, { tid: number; since: number }>();
  const intervals: Array<[number, number, number]> = []; // tid, start ms, end ms
  // pid/tid, e.g. "  1230/1234 [001]  5123.456789: prev_comm=node prev_pid=1234 ... next_pid=0 ..."
  const line = /^\s*(\d+)\/(\d+)\s+\[(\d+)\]\s+([\d.]+):.*prev_comm=(.*?) prev_pid=(\d+).*next_pid=(\d+)/;
  for await (const text of createInterface({ input: script.stdout! })) {
    const m = line.exec(text);
    if (!m) continue;
    const [pid, tid, cpu, at] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]) * 1000];
    tgid.set(tid, pid);
    comms.set(tid, m[5].replace(/\d+/g, '#'));
    const running = current.get(cpu);
    if (running && running.tid !== 0) intervals.push([running.tid, running.since, at]);
    current.set(cpu, { tid: Number(m[7]), since: at });
  }
  const nameOfTid = (tid: number) => {
    const name = names.get(tgid.get(tid) ?? -1);
    if (name && SPLIT.includes(name)) return `${name}/${comms.get(tid) ?? '?'}`;
    return name && name !== 'other' && name !== 'gone' ? name : `other:${comms.get(tid) ?? '?'}`;
  };
  for (const [label, windows] of [
    ['Last Meter publish → last terminal', ours],
    ['bare broadcast → last client', theirs],
  ] as const) {
    const inside = new Map<string, number>();
    const bins = new Map<string, number[]>();
    const sorted = [...windows].sort((a, b) => a.start - b.start);
    const longest = Math.max(...windows.map((w) => w.end - w.start));
    const nBins = Math.ceil(longest / BIN_MS) + 1;
    for (const [tid, s, e] of intervals) {
      for (const w of sorted) {
        if (w.start > e) break;
        const from = Math.max(s, w.start);
        const to = Math.min(e, w.end);
        if (to <= from) continue;
        const name = nameOfTid(tid);
        inside.set(name, (inside.get(name) ?? 0) + (to - from));
        const row = bins.get(name) ?? new Array<number>(nBins).fill(0);
        for (let t = from; t < to;) {
          const b = Math.floor((t - w.start) / BIN_MS);
          const binEnd = w.start + (b + 1) * BIN_MS;
          const piece = Math.min(to, binEnd) - t;
          row[b] += piece;
          t += piece;
        }
        bins.set(name, row);
      }
    }
    const n = windows.length;
    console.log(
      `\n${label}: ${n} rounds, CPU ms per round inside the window, then per ${BIN_MS} ms bin from its start`,
    );
    for (const [name, ms] of [...inside].sort((a, b) => b[1] - a[1])) {
      if (ms / n < 0.1) continue;
      const row = bins
        .get(name)!
        .map((v) => (v / n).toFixed(1).padStart(5))
        .join('');
      console.log(`${name.padEnd(12)} ${(ms / n).toFixed(1).padStart(6)} |${row}`);
    }
  }
}

runMain(main);
