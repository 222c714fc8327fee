/**
 * Probe (not a scenario): the serial chain of one publish with no terminal connected, on
 * a warm broker: where the ~12 ms between the command service taking the request and
 * sending its answer go. It needs a diagnostic build: `git apply
 * bench/probes/publish-chain.patch && npm run build` makes every app log each Kafka
 * request (created, sent, duration) and a few marks of the command service's path
 * (request, body parsed, guard, dispatch, fetched by the decider, transaction returned,
 * events applied, notice sent, reply) to LASTMETER_KAFKA_REQUEST_LOG.<pid>; `git apply
 * -R` takes it out again. `node dist/bench/probes/publish-chain.js [rounds] [warm-up]`
 * prints, per process, client and request or mark, when in the publish it came (ms after
 * the probe sent the request, mean over the rounds) and how long the request took.
 * Kafka's `createdAt` is Date.now(), ms resolution: about 0.5 ms early on average against
 * the marks. The probe's clock and the apps' differ by a fixed unknown offset, so compare
 * times within one process.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { warmBroker } from '../lib/broker-warmth';
import { draftNotices, publish, setUpStores, startStack, untilQuiet } from '../lib/stack';
import { benchInfra, runMain } from '../support';

const DIR = '/tmp/kreq';
const now = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 100);
  const warm = Number(process.argv[3] ?? 600);
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const infra = await benchInfra();
  const stack = await startStack(infra, undefined, { LASTMETER_KAFKA_REQUEST_LOG: `${DIR}/req` });
  try {
    await setUpStores(stack, 10);
    const drafts = await draftNotices(stack, rounds + warm);
    const warmth = await warmBroker(
      infra.kafkaPid,
      drafts.slice(0, warm),
      async (id) => void (await publish(stack, id)),
    );
    console.error('warmed', JSON.stringify(warmth));
    await untilQuiet(stack);
    const spans: Array<{ t0: number; t1: number }> = [];
    for (const id of drafts.slice(warm)) {
      const t0 = now();
      await publish(stack, id);
      spans.push({ t0, t1: now() });
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
      for (const { t0, t1 } of spans) {
        for (const r of lines) {
          if (r.createdAt < t0 - 1 || r.createdAt > t1 + 1) continue;
          const key = `${pid} ${r.clientId} ${r.api}`;
          const row = table.get(key) ?? { n: 0, at: 0, duration: 0, pending: 0 };
          row.n++;
          row.at += r.createdAt - t0;
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
    const rows = [...table.entries()].sort((a, b) => a[1].at / a[1].n - b[1].at / b[1].n);
    for (const [key, { n, at, duration, pending }] of rows) {
      console.log(
        `${key.padEnd(60)} per publish ${(n / spans.length).toFixed(2)}  created at ${(at / n).toFixed(2)} ms  took ${(duration / n).toFixed(2)} ms (queued ${(pending / n).toFixed(2)})`,
      );
    }
  } finally {
    await stack.stop();
    // Its broker and Redis too: left running, each idle pair took CPU from every later run.
    await infra.stop();
  }
}

runMain(main);
