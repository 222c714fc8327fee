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
import { forEachConcurrently } from './concurrently';
import { threadTimes } from './proc-stats';

/** CPU time (ms) of the process's JIT compiler threads since they started; undefined if unreadable. */
export function compilerCpuMs(pid: number | undefined): number | undefined {
  // The kernel keeps 15 characters of a thread's name: "C2 CompilerThre".
  return (pid === undefined ? undefined : threadTimes(pid, true))
    ?.filter(({ name }) => /^C[12] Compiler/.test(name!))
    .reduce((ms, { runNs }) => ms + runNs / 1e6, 0);
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
