/* global setTimeout */
/**
 * A probe (not a scenario, not a test): how much CPU does a stack with nothing to do
 * use? Starts Kafka, Redis and the three apps as the benchmarks do, sets up 10 stores
 * and 5 drafts, waits until the projector is quiet and 10 s more, then reads each
 * process's CPU time (`/proc/<pid>/stat`, user + system) over 30 s.
 *
 * `npm run build`, then `node bench/probes/idle-cpu.cjs`. Seen on 2026-12-03 (2 cores,
 * same hour): command 11.8%, projector 10.2%, gateway 5.8%, Kafka 17.2% of a core before
 * the request-queue patch and the 500 ms fetch wait (bench/PROFILE.md row 23); 2.3%,
 * 2.6%, 1.9% and 12.2% after.
 */
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const { benchInfra, runMain } = require(join(ROOT, 'dist', 'bench', 'support.js'));
const { draftNotices, setUpStores, startStack, untilQuiet } = require(join(ROOT, 'dist', 'bench', 'lib', 'stack.js'));

const SECONDS = 30;

/** CPU time of a process so far, in clock ticks (utime + stime, fields 14 and 15). */
function ticks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function main() {
  const infra = await benchInfra();
  const stack = await startStack(infra);
  try {
    await setUpStores(stack, 10);
    await draftNotices(stack, 5);
    await untilQuiet(stack);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const pids = Object.fromEntries(Object.entries(stack.processes).map(([name, child]) => [name, child.pid]));
    // The benchmarks' broker: the newest Java process running Kafka (this probe started it).
    pids.kafka = Number(execFileSync('pgrep', ['-nf', '^\\S*java .*kafka\\.Kafka']).toString().trim());
    const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, ticks(pid)]));
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1_000));
    for (const [name, pid] of Object.entries(pids)) {
      // Clock ticks are 1/100 s on Linux: ticks / seconds is the percentage of one core.
      console.log(`${name}: ${((ticks(pid) - before[name]) / SECONDS).toFixed(1)}% of a core`);
    }
  } finally {
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
