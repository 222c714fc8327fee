/**
 * @long About three minutes (every scenario at tiny N): it starts first among the suites
 * that run side by side, so that the others run beside it. (test/setup/sequencer.js)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScenarioResult } from '../../bench/lib/results';
import { SCENARIOS } from '../../bench/lib/scenarios';

/**
 * The benchmark harness end to end at tiny N against the run's Kafka and Redis: every
 * scenario runs, writes a well-formed result file, and the report and the CDF chart are
 * generated. Whether anything is fast is the benchmarks' business, not this test's.
 *
 * Not `@exclusive`: at tiny N the scenarios keep about one core busy (4 min 18 s of CPU
 * in 4 min 27 s alone), as much as another e2e suite, and nothing here depends on a
 * clock. Run alone it held the other worker idle for four minutes.
 */
const root = join(__dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'lastmeter-bench-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('runs every scenario at tiny N and writes well-formed results, RESULTS.md and the CDF chart', async () => {
  const log: string[] = [];
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [join(root, 'dist', 'bench', 'run.js'), '--tiny'], {
      env: { ...process.env, BENCH_RESULTS_DIR: out, BENCH_REPORT: join(out, 'RESULTS.md') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => log.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => log.push(d.toString()));
    child.once('exit', resolve);
  });
  if (code !== 0) {
    // The output of each failed scenario (from its "=== [i/n] name" line to its "=== name: FAILED"), then the end.
    const text = log.join('');
    const failed = [...text.matchAll(/=== \[\d+\/\d+\] ([\w-]+)[\s\S]*?=== \1: FAILED[^\n]*/g)].map((m) =>
      m[0].slice(-6000),
    );
    throw new Error(`bench harness exited ${code}:\n${failed.join('\n')}\n…\n${text.slice(-2000)}`);
  }

  const report = readFileSync(join(out, 'RESULTS.md'), 'utf8');
  for (const scenario of SCENARIOS) {
    const file = join(out, `${scenario}.json`);
    expect(existsSync(file)).toBe(true);
    const result = JSON.parse(readFileSync(file, 'utf8')) as ScenarioResult;
    expect(result).toMatchObject({ scenario, scale: 'tiny' });
    expect(result.title).toEqual(expect.any(String));
    expect(result.machine).toMatchObject({
      cores: expect.any(Number),
      memoryGiB: expect.any(Number),
      node: process.version,
    });
    expect(result.machine.kafka).toMatch(/^3\.9\./);
    expect(Number.isNaN(Date.parse(result.at))).toBe(false);
    expect(result.parameters.runId).toEqual(expect.any(String));
    expect(result.metrics.length).toBeGreaterThan(0);
    for (const metric of result.metrics) {
      expect(metric.name).toEqual(expect.any(String));
      expect(metric.unit).toEqual(expect.any(String));
      expect(Number.isFinite(metric.value)).toBe(true);
      if (metric.baseline !== undefined) {
        expect(Number.isFinite(metric.baseline)).toBe(true);
        if (metric.baseline !== 0) expect(metric.ratio).toBeCloseTo(metric.value / metric.baseline, 2);
      }
      if (metric.goal !== undefined && (metric.goalIsAbsolute || metric.baseline))
        expect(typeof metric.pass).toBe('boolean');
      expect(report).toContain(`| ${scenario} | ${metric.name} |`);
    }
    for (const [series, samples] of Object.entries(result.samples ?? {})) {
      const bad = samples.filter((v) => !Number.isFinite(v) || v < 0);
      expect({ scenario, series, bad }).toEqual({ scenario, series, bad: [] });
    }
  }
  // The end-to-end ratio uses the floors measured earlier in the same run.
  const endToEnd = JSON.parse(readFileSync(join(out, 'end-to-end.json'), 'utf8')) as ScenarioResult;
  expect(endToEnd.metrics[0]).toMatchObject({ baseline: expect.any(Number), goal: 1.5, pass: expect.any(Boolean) });

  // The scale curves: the sizes run, and one panel per curve in scale.svg (linked from RESULTS.md).
  const scale = JSON.parse(readFileSync(join(out, 'scale.json'), 'utf8')) as ScenarioResult;
  expect(scale.parameters.stores).toEqual([100, 300]);
  const curves = Object.keys(scale.parameters.curves as object);
  const scaleSvg = readFileSync(join(out, 'scale.svg'), 'utf8');
  expect((scaleSvg.match(/<polyline /g) ?? []).length).toBe(curves.length);
  expect(report).toContain('![scale curves](results/scale.svg)');

  const svg = readFileSync(join(out, 'latency-cdf.svg'), 'utf8');
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trim().endsWith('</svg>')).toBe(true);
  expect((svg.match(/<polyline /g) ?? []).length).toBeGreaterThanOrEqual(5);
}, 600_000);
