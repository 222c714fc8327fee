/**
 * Preloaded (`--require`) into a process under a benchmark when `BENCH_GC_LOG` names a
 * directory: every garbage collection of 1 ms or more is appended to
 * `<dir>/<pid>.jsonl` as `{ at, ms, kind, proc }` (`at`: epoch ms of its start), to line
 * slow rounds up with pauses (`BENCH_APP_NODE_ARGS="--require dist/bench/lib/gc-log.js"`,
 * `BENCH_LOAD_NODE_ARGS` for the clients' processes). Not used in production.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, performance, constants, type PerformanceEntry } from 'node:perf_hooks';

const dir = process.env.BENCH_GC_LOG;
if (dir) {
  const file = join(dir, `${process.pid}.jsonl`);
  const proc = `${process.argv[1]?.split('/').slice(-3).join('/') ?? '?'} ${process.argv.slice(2).join(' ')}`.trim();
  const kinds: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  new PerformanceObserver((list) => {
    const lines = list
      .getEntries()
      .filter((entry) => entry.duration >= 1)
      .map((entry) => {
        const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1;
        return JSON.stringify({
          at: performance.timeOrigin + entry.startTime,
          ms: entry.duration,
          kind: kinds[kind] ?? String(kind),
          proc,
        });
      });
    if (lines.length > 0) appendFileSync(file, `${lines.join('\n')}\n`);
  }).observe({ entryTypes: ['gc'] });
}
