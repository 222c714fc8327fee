/**
 * `npm run bench` (full, up to ~20 min), `npm run bench:quick` (< 3 min, limits-cost
 * adds 2–3): every scenario in order, each in its own process (they would compete for
 * the same cores), against one Kafka and Redis started here (or KAFKA_BROKERS /
 * REDIS_URL); then RESULTS.md and the latency CDF. `-- <name…>` runs some scenarios
 * only (the report still covers all files).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writeReport } from './lib/report';
import { SCENARIOS } from './lib/scenarios';
import { benchInfra } from './support';

function runScenario(name: string, env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--enable-source-maps', join(__dirname, `${name}.bench.js`)], {
      env,
      stdio: 'inherit',
    });
    child.once('exit', (code) => resolve(code));
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const scale = args.includes('--tiny')
    ? 'tiny'
    : args.includes('--quick')
      ? 'quick'
      : (process.env.BENCH_SCALE ?? 'full');
  const only = args.filter((a) => !a.startsWith('--'));
  const chosen = SCENARIOS.filter((name) => only.length === 0 || only.some((o) => name.includes(o)));
  const started = Date.now();
  const infra = await benchInfra();
  const env = {
    ...process.env,
    BENCH_SCALE: scale,
    BENCH_RUN_ID: randomBytes(4).toString('hex'),
    KAFKA_BROKERS: infra.brokers,
    BENCH_KAFKA_PID: infra.kafkaPid === undefined ? '' : String(infra.kafkaPid),
    REDIS_URL: infra.redisUrl,
  };
  const failed: string[] = [];
  try {
    for (const [i, name] of chosen.entries()) {
      const t0 = Date.now();
      console.error(`\n=== [${i + 1}/${chosen.length}] ${name} (${scale})`);
      const code = await runScenario(name, env);
      console.error(
        `=== ${name}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${Math.round((Date.now() - t0) / 1000)} s`,
      );
      if (code !== 0) failed.push(name);
    }
  } finally {
    await infra.stop();
  }
  writeReport();
  console.error(
    `\nbenchmarks finished in ${Math.round((Date.now() - started) / 1000)} s${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
  );
  process.exit(failed.length ? 1 : 0);
}

if (require.main === module) void main();
