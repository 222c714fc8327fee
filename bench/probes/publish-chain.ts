/**
 * Probe (not a scenario): the serial chain of one publish on a warm broker: where the
 * ~12 ms between the command service taking the request and sending its answer go, and
 * (with terminals) on to the first and last terminal. It needs a diagnostic build: `git
 * apply bench/probes/publish-chain.patch && npm run build` makes every app log each Kafka
 * request (created, sent, duration) and a few marks of the command service's path
 * (request, body parsed, guard, dispatch, transaction returned, notice sent, reply) and
 * of the gateway's (notice received, each store's pump, its emit) to
 * LASTMETER_KAFKA_REQUEST_LOG.<pid>; `git apply -R` takes it out again.
 * `node dist/bench/probes/publish-chain.js [rounds] [warm-up]` prints, per process,
 * client and request or mark, when in the publish it came (ms after the probe sent the
 * request, mean over the rounds) and how long the request took. PROBE_TERMINALS=N
 * connects N terminals to the stores first and prints the first and last terminal's p50.
 * Marks are on CLOCK_MONOTONIC (process.hrtime, the same in every process of the box),
 * so marks of different processes compare; each costs a synchronous file append (~50 µs),
 * which the gateway's per-store marks add up. Kafka's `createdAt` is Date.now(), ms
 * resolution: about 0.5 ms early on average against the probe's wall clock; compare
 * requests within one process.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { warmBroker } from '../lib/broker-warmth';
import { draftNotices, publish, setUpStores, startStack, terminalsOf, untilQuiet } from '../lib/stack';
import { awaitDelivery, Fleet } from '../lib/fleet';
import { summary } from '../lib/results';
import { benchInfra, runMain } from '../support';

const DIR = '/tmp/kreq';

/** One publish: wall clock (t0, t1: its HTTP answer) and CLOCK_MONOTONIC (h0) at its send, its terminals' first and last, ms after it. */
interface Span {
  t0: number;
  t1: number;
  h0: number;
  first?: number;
  last?: number;
}
const now = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 100);
  const warm = Number(process.argv[3] ?? 600);
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const infra = await benchInfra();
  const stack = await startStack(infra, undefined, { LASTMETER_KAFKA_REQUEST_LOG: `${DIR}/req` });
  const terminals = Number(process.env.PROBE_TERMINALS ?? 0);
  const fleet = terminals > 0 ? Fleet.for(terminals) : undefined;
  try {
    const stores = await setUpStores(stack, 10);
    if (fleet) await fleet.connect('terminal', stack.urls.gateway, await terminalsOf(stack, stores, terminals));
    const drafts = await draftNotices(stack, rounds + warm);
    const warmth = await warmBroker(
      infra.kafkaPid,
      drafts.slice(0, warm),
      async (id) => void (await publish(stack, id)),
    );
    console.error('warmed', JSON.stringify(warmth));
    await untilQuiet(stack);
    const spans: Span[] = [];
    const hr = () => Number(process.hrtime.bigint()) / 1e6;
    for (const id of drafts.slice(warm)) {
      const t0 = now();
      const h0 = hr();
      await publish(stack, id);
      const span: Span = { t0, t1: now(), h0 };
      spans.push(span);
      if (fleet) {
        const got = (await awaitDelivery(fleet, [id], terminals)).get(id)!;
        span.first = Number(got.first) / 1e6 - h0;
        span.last = Number(got.last) / 1e6 - h0;
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const logs = readdirSync(DIR).map((f) => ({
      pid: f.split('.').at(-1)!,
      lines: readFileSync(`${DIR}/${f}`, 'utf8')
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as {
              api: string;
              createdAt: number;
              sentAt: number;
              duration: number;
              pending: number;
              clientId: string;
            },
        ),
    }));
    const table = new Map<string, { n: number; at: number; duration: number; pending: number }>();
    for (const { pid, lines } of logs) {
      for (const { t0, t1, h0 } of spans) {
        for (const r of lines) {
          const mark = r.api.startsWith('mark:');
          const base = mark ? h0 : t0;
          if (r.createdAt < base - 1 || r.createdAt > base + (t1 - t0) + 30) continue;
          const key = `${pid} ${r.clientId} ${r.api}`;
          const row = table.get(key) ?? { n: 0, at: 0, duration: 0, pending: 0 };
          row.n++;
          row.at += r.createdAt - base;
          row.duration += r.duration;
          row.pending += r.pending;
          table.set(key, row);
        }
      }
    }
    const http = spans.map(({ t0, t1 }) => t1 - t0).sort((a, b) => a - b);
    console.log(
      `HTTP answer p50 ${http[Math.floor(http.length / 2)]!.toFixed(2)} ms, mean ${(http.reduce((a, b) => a + b, 0) / http.length).toFixed(2)}`,
    );
    if (fleet) {
      const p50 = (key: 'first' | 'last') => summary(spans.map((span) => span[key]!)).p50;
      console.log(`terminals: first p50 ${p50('first')} ms, last p50 ${p50('last')} ms`);
    }
    const rows = [...table.entries()].sort((a, b) => a[1].at / a[1].n - b[1].at / b[1].n);
    for (const [key, { n, at, duration, pending }] of rows) {
      console.log(
        `${key.padEnd(60)} per publish ${(n / spans.length).toFixed(2)}  created at ${(at / n).toFixed(2)} ms  took ${(duration / n).toFixed(2)} ms (queued ${(pending / n).toFixed(2)})`,
      );
    }
  } finally {
    await fleet?.close();
    await stack.stop();
    // Its broker and Redis too: left running, each idle pair took CPU from every later run.
    await infra.stop();
  }
}

runMain(main);
