/**
 * How warm the bench's Kafka broker is: the CPU its JIT compiler threads spend.
 *
 * A broker just started compiles its hot paths for minutes. In a probe of publishes to
 * 1,000 terminals (`bench/probes/publish-cpu.ts`, 2026-12-05 late evening) its C2
 * compiler thread still took 7.8–9.8 ms of CPU per publish after 100 publishes, on the
 * two cores the fan-out needs; after 800 it took 1.5 ms. A JFR recording of the same
 * broker put its compile time at ~1 s per 15 s for the first 2.3 min of publishing, and
 * ~0.2 s per 15 s after. A production broker is warm, so `end-to-end` publishes until
 * the compilers go quiet before its rounds, and reports what they spent during them.
 *
 * The broker's pid comes from `benchInfra` (`BENCH_KAFKA_PID` when `npm run bench`
 * started it). An external broker (KAFKA_BROKERS without it) cannot be read: then the
 * warm-up publishes its whole budget.
 */
import { getPriority, setPriority } from 'node:os';
import { forEachConcurrently } from './concurrently';
import { threadTimes } from './proc-stats';

/** The kernel keeps 15 characters of a thread's name: "C2 CompilerThre". */
const COMPILER_THREAD = /^C[12] Compiler/;

/** The process's JIT compiler threads; undefined if unreadable. */
const compilerThreads = (pid: number | undefined) =>
  (pid === undefined ? undefined : threadTimes(pid, true))?.filter(({ name }) => COMPILER_THREAD.test(name!));

/** CPU time (ms) of the process's JIT compiler threads since they started; undefined if unreadable. */
export function compilerCpuMs(pid: number | undefined): number | undefined {
  return compilerThreads(pid)?.reduce((ms, { runNs }) => ms + runNs / 1e6, 0);
}

export interface Warmth {
  /** Publishes sent to warm the broker. */
  publishes: number;
  /** Compiler CPU per publish in the last block (undefined: the broker could not be read). */
  lastBlockMsPerPublish?: number;
  /** Whether two blocks in a row stayed under the threshold (false: the budget ran out first). */
  settled: boolean;
}

/**
 * Sends `ids` through `send` in blocks of `block`, `concurrency` at a time, until two
 * blocks in a row cost the broker's compilers at most `thresholdMs` of CPU per publish,
 * or `ids` run out. Two, because the compilers work in bursts: in the first run of this
 * warm-up (2026-12-05) single blocks of 50 came in at 1.0–2.3 ms between blocks of 5–15.
 */
export async function warmBroker(
  pid: number | undefined,
  ids: string[],
  send: (id: string) => Promise<void>,
  { block = 50, concurrency = 4, thresholdMs = 1 } = {},
): Promise<Warmth> {
  let publishes = 0;
  let lastBlockMsPerPublish: number | undefined;
  let quietBlocks = 0;
  while (publishes + block <= ids.length) {
    const before = compilerCpuMs(pid);
    const batch = ids.slice(publishes, publishes + block);
    await forEachConcurrently(batch.length, concurrency, (i) => send(batch[i]!));
    publishes += block;
    const after = compilerCpuMs(pid);
    if (before === undefined || after === undefined) continue;
    lastBlockMsPerPublish = (after - before) / block;
    console.error(`broker warm-up: ${publishes} publishes, compilers ${lastBlockMsPerPublish.toFixed(2)} ms/publish`);
    quietBlocks = lastBlockMsPerPublish <= thresholdMs ? quietBlocks + 1 : 0;
    if (quietBlocks === 2) return { publishes, lastBlockMsPerPublish, settled: true };
  }
  return { publishes, lastBlockMsPerPublish, settled: false };
}

/** Nice value given to the broker's compiler threads by `quietCompilers`: the lowest priority. */
export const COMPILERS_NICE = 19;

/**
 * Runs the broker's JIT compiler threads at the lowest CPU priority (nice 19) until the
 * returned function is called: what they still compile then runs in the gaps between
 * rounds, not in the middle of a measured publish. Even after the warm-up they took 6–12
 * ms of CPU per `end-to-end` round (its "compilers' CPU per round" rows, 2026-12-05 and
 * 06), in the same moments as the round, on the same two cores; a production broker is
 * warm and has cores of its own. Nothing else of the broker changes (its request
 * threads keep their priority), and they still compile: the rows report what they
 * spent. The JVM starts and ends compiler threads as the work needs them, so they are
 * looked for every 500 ms. The returned function gives them their priority back (the
 * broker of `npm run bench` serves the later scenarios too). Off with
 * BENCH_QUIET_COMPILERS=0; a no-op without a pid (an external broker).
 */
export function quietCompilers(pid: number | undefined, nice = COMPILERS_NICE): () => void {
  if (pid === undefined || process.env.BENCH_QUIET_COMPILERS === '0') return () => undefined;
  /** Each thread reniced, with the nice value it had. */
  const done = new Map<number, number>();
  const renice = () => {
    for (const { tid } of compilerThreads(pid) ?? []) {
      if (done.has(tid)) continue;
      try {
        const was = getPriority(tid);
        // On Linux, setpriority with a thread id sets that thread's nice value alone.
        setPriority(tid, nice);
        done.set(tid, was);
      } catch {
        // the thread ended in between
      }
    }
  };
  renice();
  const timer = setInterval(renice, 500);
  return () => {
    clearInterval(timer);
    for (const [tid, was] of done) {
      try {
        setPriority(tid, was);
      } catch {
        // ended meanwhile
      }
    }
  };
}
