import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system) and RSS of a process, from /proc (Linux). */
export function procStats(pid: number): { cpuSeconds: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuSeconds, rssBytes: rssKb * 1024 };
}

/** Samples a process every second; `stop()` returns mean and peak CPU (%) and peak RSS. */
export function sampleProcess(pid: number) {
  const samples: Array<{ at: number; cpuSeconds: number; rssBytes: number }> = [];
  const take = () => {
    try {
      samples.push({ at: Date.now(), ...procStats(pid) });
    } catch {
      // the process is gone
    }
  };
  take();
  const timer = setInterval(take, 1_000);
  return {
    stop() {
      clearInterval(timer);
      take();
      const cpu = samples
        .slice(1)
        .map((s, i) => (100 * (s.cpuSeconds - samples[i].cpuSeconds)) / ((s.at - samples[i].at) / 1000));
      const first = samples[0];
      const last = samples[samples.length - 1];
      return {
        cpuMeanPercent:
          last && first && last.at > first.at
            ? (100 * (last.cpuSeconds - first.cpuSeconds)) / ((last.at - first.at) / 1000)
            : 0,
        cpuPeakPercent: Math.max(0, ...cpu),
        rssPeakMiB: Math.max(0, ...samples.map((s) => s.rssBytes)) / 2 ** 20,
      };
    },
  };
}

/**
 * Each thread's id, time on a CPU and waiting for one (ns, /proc/<pid>/task/<tid>/schedstat),
 * with its name (`comm`, 15 characters at most) when `names`; undefined once the
 * process is gone. Threads that end while they are read are left out.
 */
export function threadTimes(
  pid: number | string,
  names = false,
): Array<{ tid: number; name?: string; runNs: number; waitNs: number }> | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const threads: Array<{ tid: number; name?: string; runNs: number; waitNs: number }> = [];
  for (const tid of tids) {
    try {
      const [runNs, waitNs] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      const name = names ? readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() : undefined;
      threads.push({ tid: Number(tid), name, runNs: runNs!, waitNs: waitNs! });
    } catch {
      // the thread ended in between
    }
  }
  return threads;
}

/**
 * Each named process's time on a CPU and waiting for one (ms, all its threads), from
 * `threadTimes`; a process that is gone (or undefined) is left out. Two readings'
 * difference says who ran, and who waited for a core, in between. The processes named in
 * `byThread` are also split by thread name, its numbering dropped (`kafka/GC Thread#`,
 * `kafka/C2 CompilerThre`, `command/node`): `end-to-end`'s round log and `publish-cpu`.
 */
export function schedTimes(
  pids: Record<string, number | undefined>,
  byThread: readonly string[] = [],
): Record<string, { runMs: number; waitMs: number }> {
  const times: Record<string, { runMs: number; waitMs: number }> = {};
  const add = (key: string, runNs: number, waitNs: number) => {
    const entry = (times[key] ??= { runMs: 0, waitMs: 0 });
    entry.runMs += runNs / 1e6;
    entry.waitMs += waitNs / 1e6;
  };
  for (const [name, pid] of Object.entries(pids)) {
    const split = byThread.includes(name);
    const threads = pid === undefined ? undefined : threadTimes(pid, split);
    if (!threads) continue;
    for (const thread of threads) {
      add(name, thread.runNs, thread.waitNs);
      if (split) add(`${name}/${thread.name!.replace(/[-\d]+$/, '')}`, thread.runNs, thread.waitNs);
    }
  }
  return times;
}
