/**
 * Last Meter end to end: HTTP publish → the last of N terminals has the item, through
 * the whole stack (command API, decider, Kafka, feed sequencing, projector, Redis,
 * gateway, Socket.IO), against the floors measured earlier in the same run: Kafka's own
 * produce → consume (kafka-floor) plus a bare Socket.IO broadcast to the same N
 * (fanout-floor). Goal (issue 17 item 1): p50 and p99 each ≤ 1.5 × the floors' sum of the
 * same quantile, at every N.
 *
 * A second p50 row per N, for reading the first (no goal): against the bare kafkajs
 * chain of the write side's Kafka steps (kafka-floor's transactional chain: a command,
 * its decision's transaction, the feed entry's transaction, read_committed) plus the
 * same Socket.IO floor. What stays above that is ours: HTTP, deciding, Redis, the gateway.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FANOUT_SIZES } from './fanout-floor.bench';
import { Fleet } from './lib/fleet';
import { FLOOR_METRICS } from './lib/floors';
import { resultsDir, sized, summary, thin, writeScenario, type Metric, type ScenarioResult } from './lib/results';
import { draftNotices, publishRounds, setUpStores, startStack, terminalsOf } from './lib/stack';
import { benchInfra, runMain } from './support';

const ROUNDS = sized({ full: 30, quick: 15, tiny: 4 });
const STORES = sized({ full: 10, quick: 5, tiny: 2 });

/** A floor from this run's result files (undefined if they are from another run). */
function floor(scenario: string, metric: string): number | undefined {
  const file = join(resultsDir(), `${scenario}.json`);
  if (!existsSync(file)) return undefined;
  const result = JSON.parse(readFileSync(file, 'utf8')) as ScenarioResult & { runId?: string };
  if (process.env.BENCH_RUN_ID && result.parameters.runId !== process.env.BENCH_RUN_ID) return undefined;
  return result.metrics.find((m) => m.name === metric)?.value;
}

async function main(): Promise<void> {
  const infra = await benchInfra();
  const stack = await startStack(infra);
  const metrics: Metric[] = [];
  const samples: Record<string, number[]> = {};
  const notes: string[] = [];
  try {
    const stores = await setUpStores(stack, STORES);
    const drafts = await draftNotices(stack, (ROUNDS + 3) * FANOUT_SIZES.length);
    let used = 0;
    for (const n of FANOUT_SIZES) {
      console.error(`end to end: ${n} terminals in ${STORES} stores`);
      const fleet = Fleet.for(n);
      try {
        await fleet.connect('terminal', stack.urls.gateway, await terminalsOf(stack, stores, n));
        const ids = drafts.slice(used, (used += ROUNDS + 3));
        const { latencies, accepted } = await publishRounds(stack, fleet, ids, n, 3);
        const e2e = summary(latencies);
        samples[`Last Meter, N=${n}`] = thin(latencies);
        const kafka = floor('kafka-floor', FLOOR_METRICS.kafkaP50);
        const fanout = floor('fanout-floor', FLOOR_METRICS.socketIo(n, 'p50'));
        const base = kafka !== undefined && fanout !== undefined ? kafka + fanout : undefined;
        const kafkaP99 = floor('kafka-floor', FLOOR_METRICS.kafkaP99);
        const fanoutP99 = floor('fanout-floor', FLOOR_METRICS.socketIo(n, 'p99'));
        const baseP99 = kafkaP99 !== undefined && fanoutP99 !== undefined ? kafkaP99 + fanoutP99 : undefined;
        const chain = floor('kafka-floor', FLOOR_METRICS.chainP50);
        const chainBase = chain !== undefined && fanout !== undefined ? chain + fanout : undefined;
        if (base === undefined) notes.push(`N=${n}: no floors from this run (run the whole suite for the ratio)`);
        metrics.push(
          {
            name: `publish → last of ${n} terminals, p50`,
            unit: 'ms',
            value: e2e.p50,
            ...(base !== undefined ? { baseline: base, baselineName: 'Kafka floor p50 + Socket.IO floor p50' } : {}),
            lowerIsBetter: true,
            goal: 1.5,
          },
          ...(chainBase !== undefined
            ? [
                {
                  name: `publish → last of ${n} terminals, p50, against the transactional chain`,
                  unit: 'ms',
                  value: e2e.p50,
                  baseline: chainBase,
                  baselineName: 'Kafka transactional chain p50 + Socket.IO floor p50',
                  lowerIsBetter: true,
                },
              ]
            : []),
          {
            name: `publish → last of ${n} terminals, p99`,
            unit: 'ms',
            value: e2e.p99,
            ...(baseP99 !== undefined
              ? { baseline: baseP99, baselineName: 'Kafka floor p99 + Socket.IO floor p99' }
              : {}),
            lowerIsBetter: true,
            goal: 1.5,
          },
          { name: `publish → last of ${n} terminals, max`, unit: 'ms', value: e2e.max, lowerIsBetter: true },
          {
            name: `publish accepted (HTTP 200), N=${n}, p50`,
            unit: 'ms',
            value: summary(accepted).p50,
            lowerIsBetter: true,
          },
        );
      } finally {
        await fleet.close();
      }
    }
    writeScenario({
      scenario: 'end-to-end',
      title: 'Last Meter end to end: HTTP publish → last terminal',
      parameters: { terminals: FANOUT_SIZES, stores: STORES, rounds: ROUNDS },
      metrics,
      samples,
      notes,
    });
  } finally {
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
