import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appNodeArgs,
  ensureKafkaJars,
  freePort,
  isPortFree,
  lastmeterHome,
  LocalKafka,
  LocalRedis,
  repoRoot,
} from '@lastmeter/infra';
import { forEachConcurrently } from './lib/concurrently';
import { percentile, resultsDir, writeScenario, type Metric } from './lib/results';

export { percentile };

export interface BenchInfra {
  brokers: string;
  redisUrl: string;
  /** The broker's pid when it runs on this box (`lib/broker-warmth`); from BENCH_KAFKA_PID when KAFKA_BROKERS is set. */
  kafkaPid?: number;
  stop(): Promise<void>;
}

/** Real Kafka and Redis for a benchmark run (or KAFKA_BROKERS / REDIS_URL when set). */
export async function benchInfra(): Promise<BenchInfra> {
  const root = mkdtempSync(join(tmpdir(), 'lastmeter-bench-'));
  let kafka: LocalKafka | undefined;
  let redis: LocalRedis | undefined;
  if (!process.env.KAFKA_BROKERS) {
    const jars = await ensureKafkaJars(lastmeterHome().kafkaJars, { onProgress: (l) => console.error(l) });
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    kafka = new LocalKafka({
      port,
      controllerPort,
      dataDir: join(root, 'kafka'),
      logDir: join(root, 'logs'),
      jarsDir: jars.libs,
      heapMb: 1024,
    });
    await kafka.start();
  }
  if (!process.env.REDIS_URL) {
    redis = new LocalRedis({
      port: await freePort(),
      dataDir: join(root, 'redis'),
      logDir: join(root, 'logs'),
      appendOnly: false,
    });
    await redis.start();
  }
  // A benchmark or probe that fails (runMain exits) must not leave them running either
  // (as the CLI's Supervisor does for its apps: on until stop() takes it off).
  const killOnExit = () => {
    for (const pid of [kafka?.pid, redis?.pid]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await Promise.allSettled([kafka?.stop(), redis?.stop()]);
    rmSync(root, { recursive: true, force: true });
  };
  // Ctrl-C (or a kill) during a benchmark must not leave its broker and Redis behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the benchmark's Kafka and Redis\n`);
      void stop().finally(() => process.exit(130));
    });
  }
  return {
    brokers: process.env.KAFKA_BROKERS ?? kafka!.brokers,
    redisUrl: process.env.REDIS_URL ?? redis!.url,
    kafkaPid: kafka ? kafka.pid : Number(process.env.BENCH_KAFKA_PID) || undefined,
    stop,
  };
}

/** A benchmark process's entry point: exit 0 when done, print the error and exit 1 otherwise. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/**
 * Ports for the benchmarks' apps: below the kernel's ephemeral range (32768–60999), from
 * which every `freePort()` of the test suites and every outgoing connection take theirs, so
 * none of them can take the port between this pick and the app's bind. (In a CI run, a
 * gateway of `revocation` lost that race, and another suite's gateway on the port answered
 * the readiness check: the bench's terminals were refused as unknown.)
 */
const APP_PORTS = { from: 20_000, to: 32_000 };
const handedOut = new Set<number>();

export async function appPort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = APP_PORTS.from + Math.floor(Math.random() * (APP_PORTS.to - APP_PORTS.from));
    if (handedOut.has(port) || !(await isPortFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  return freePort();
}

/** The apps this process started and that still run: killed if it exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  // A scenario that threw before its `finally` (a browser that did not launch) left them
  // up; they would outlive it and take CPU from every run after (found 2026-12-07: a
  // failed `console` left its three apps running through a CI run and a bench run).
  for (const child of running) child.kill('SIGKILL');
});

export async function startBuiltApp(name: string, env: NodeJS.ProcessEnv, port: number): Promise<ChildProcess> {
  // The apps' own flags (as `lastmeter start` and the image run them); BENCH_APP_NODE_ARGS
  // adds more, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the apps under a benchmark.
  const nodeArgs = appNodeArgs(name, (process.env.BENCH_APP_NODE_ARGS ?? '').split(' ').filter(Boolean));
  const child = spawn(process.execPath, [...nodeArgs, join(repoRoot(), 'dist', 'apps', name, 'src', 'main.js')], {
    env: { ...env, [`${name.toUpperCase()}_PORT`]: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  running.add(child);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
    running.delete(child);
  });
  for (let i = 0; i < 300; i++) {
    // Ended before it was ready (a taken port, a bad setting): whatever answers there is not it.
    if (exited !== undefined) throw new Error(`${name} exited with ${exited} before it was ready`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v1/health/ready`)).ok && exited === undefined) return child;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not become ready`);
}

export interface Measurement {
  name: string;
  operations: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
}

/** Runs `operation` `total` times with `concurrency` workers; measures each call. */
export async function measure(
  name: string,
  total: number,
  concurrency: number,
  operation: (i: number) => Promise<void>,
): Promise<Measurement> {
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  await forEachConcurrently(total, concurrency, async (i) => {
    const t0 = process.hrtime.bigint();
    await operation(i);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    name,
    operations: total,
    seconds: Number(seconds.toFixed(3)),
    perSecond: Math.round(total / seconds),
    p50ms: Number(percentile(latencies, 50).toFixed(2)),
    p99ms: Number(percentile(latencies, 99).toFixed(2)),
  };
}

/**
 * Writes a benchmark's result file (`<results>/<bench>.json`, the format the report reads:
 * headline metrics with their same-run baselines) and a markdown table of every row.
 */
export function writeResults(
  bench: string,
  meta: Record<string, unknown>,
  rows: Measurement[],
  headline: { title: string; metrics: Metric[] },
): void {
  writeScenario({ scenario: bench, title: headline.title, parameters: { ...meta, rows }, metrics: headline.metrics });
  const table = [
    `# ${bench}`,
    '',
    Object.entries(meta)
      .map(([k, v]) => `- ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join('\n'),
    '',
    '| what | operations | seconds | per second | p50 ms | p99 ms |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.operations} | ${r.seconds} | ${r.perSecond} | ${r.p50ms} | ${r.p99ms} |`),
    '',
  ].join('\n');
  writeFileSync(join(resultsDir(), `${bench}.md`), table);
  console.log(table);
}
