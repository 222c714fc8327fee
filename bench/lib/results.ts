import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@lastmeter/infra';

/** How big a run is: `full` (npm run bench), `quick` (npm run bench:quick), `tiny` (the harness test). */
export type Scale = 'full' | 'quick' | 'tiny';
export const SCALE: Scale = (['full', 'quick', 'tiny'] as const).find((s) => s === process.env.BENCH_SCALE) ?? 'full';

/** Picks a size by scale. */
export function sized<T>(sizes: Record<Scale, T>): T {
  return sizes[SCALE];
}

/** Where results go (the harness test points it at a temporary folder). */
export function resultsDir(): string {
  return process.env.BENCH_RESULTS_DIR ?? join(repoRoot(), 'bench', 'results');
}

export const KAFKA_VERSION = '3.9.1';

export function machine() {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kafka: process.env.KAFKA_BROKERS_EXTERNAL ? 'external' : KAFKA_VERSION,
  };
}

/**
 * One headline number of a scenario next to its baseline from the same run. `lowerIsBetter`
 * says which way the ratio should go; `goal` is the ratio (value / baseline) to reach, or
 * an absolute value when `goalIsAbsolute`.
 */
export interface Metric {
  name: string;
  unit: string;
  value: number;
  baseline?: number;
  baselineName?: string;
  lowerIsBetter: boolean;
  goal?: number;
  goalIsAbsolute?: boolean;
}

export interface ScenarioResult {
  scenario: string;
  title: string;
  at: string;
  scale: Scale;
  machine: ReturnType<typeof machine>;
  parameters: Record<string, unknown>;
  metrics: Array<Metric & { ratio?: number; pass?: boolean }>;
  /** Latency samples (ms) by series name, for the CDF chart. */
  samples?: Record<string, number[]>;
  notes?: string[];
}

export function judged(raw: Metric): Metric & { ratio?: number; pass?: boolean } {
  const metric = {
    ...raw,
    value: round(raw.value, 3),
    ...(raw.baseline !== undefined ? { baseline: round(raw.baseline, 3) } : {}),
  };
  const ratio = metric.baseline ? round(metric.value / metric.baseline, 3) : undefined;
  let pass: boolean | undefined;
  if (metric.goal !== undefined) {
    const measured = metric.goalIsAbsolute ? metric.value : ratio;
    if (measured !== undefined) pass = metric.lowerIsBetter ? measured <= metric.goal : measured >= metric.goal;
  }
  return { ...metric, ...(ratio !== undefined ? { ratio } : {}), ...(pass !== undefined ? { pass } : {}) };
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Writes `<dir>/<scenario>.json` (the report reads them all). */
export function writeScenario(
  result: Omit<ScenarioResult, 'at' | 'scale' | 'machine' | 'metrics'> & { metrics: Metric[] },
): ScenarioResult {
  const full: ScenarioResult = {
    scenario: result.scenario,
    title: result.title,
    at: new Date().toISOString(),
    scale: SCALE,
    machine: machine(),
    parameters: { ...result.parameters, ...(process.env.BENCH_RUN_ID ? { runId: process.env.BENCH_RUN_ID } : {}) },
    metrics: result.metrics.map(judged),
    ...(result.samples ? { samples: result.samples } : {}),
    ...(result.notes ? { notes: result.notes } : {}),
  };
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${result.scenario}.json`), `${JSON.stringify(full, null, 2)}\n`);
  for (const metric of full.metrics) {
    const base =
      metric.baseline !== undefined ? ` (baseline ${metric.baseline} ${metric.unit}, ratio ${metric.ratio})` : '';
    console.error(`  ${metric.name}: ${metric.value} ${metric.unit}${base}`);
  }
  return full;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? 0),
  };
}

/** Keeps at most `n` evenly spaced samples (the CDF needs the shape, not every point). */
export function thin(samples: number[], n = 500): number[] {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length <= n) return sorted.map((v) => round(v));
  return Array.from({ length: n }, (_, i) => round(sorted[Math.floor((i * (sorted.length - 1)) / (n - 1))]));
}
