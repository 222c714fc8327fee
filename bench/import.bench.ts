/**
 * Directory import rate (issue 16): stores per second through POST /v1/imports (one
 * request, the batched command bus, the decider's per-partition transactions), at 5,000
 * and 50,000 stores, and the same file again (every row unchanged). Baseline in the same
 * run: the same kind of stores registered one request each (POST /v1/stores, 50 clients),
 * the only way before the import.
 */
import { cpus } from 'node:os';
import type { ImportSummary } from '@lastmeter/contracts';
import { sampleProcess } from './lib/proc-stats';
import { sized } from './lib/results';
import { startStack, type Stack } from './lib/stack';
import { benchInfra, measure, runMain, writeResults, type Measurement } from './support';

const SIZES = sized({ full: [5_000, 50_000], quick: [5_000], tiny: [200] });
const ONE_BY_ONE = Number(process.env.BENCH_IMPORT_BASELINE ?? sized({ full: 2_000, quick: 1_000, tiny: 100 }));
const CLIENTS = 50;
const WARM_UP = sized({ full: 200, quick: 200, tiny: 20 });

/** A CSV of one region and `n` stores with tags, locale and timezone, like a real directory export. */
function directoryCsv(run: string, n: number): string {
  const lines = ['kind,code,name,region,tags,locale,timezone,store,roles', `region,${run},Region ${run},,,,,,`];
  for (let i = 0; i < n; i++) {
    lines.push(`store,${run}-${i},Store ${run} ${i},${run},city;mall,fr-FR,Europe/Paris,,`);
  }
  return `${lines.join('\n')}\n`;
}

/** One import of `csv`, timed from the request to the last byte of the summary. */
async function importOnce(stack: Stack, token: string, name: string, stores: number, csv: string) {
  const started = process.hrtime.bigint();
  const response = await fetch(`${stack.urls.command}/v1/imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', accept: 'application/json' },
    body: csv,
  });
  const summary = (await response.json()) as ImportSummary;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (response.status !== 200) throw new Error(`${name}: ${response.status} ${JSON.stringify(summary)}`);
  if (summary.refused.length > 0 || summary.pending.length > 0) {
    throw new Error(`${name}: ${summary.refused.length} refused, ${summary.pending.length} pending`);
  }
  const row: Measurement = {
    name,
    operations: stores,
    seconds: Number(seconds.toFixed(3)),
    perSecond: Math.round(stores / seconds),
    p50ms: Math.round(seconds * 1000),
    p99ms: Math.round(seconds * 1000),
  };
  console.error(`  ${name}: ${stores} stores in ${seconds.toFixed(2)} s = ${row.perSecond}/s`);
  return { row, summary };
}

async function main(): Promise<void> {
  const infra = await benchInfra();
  // The projector runs too: it folds every imported store into Redis on the same cores.
  const stack = await startStack(infra, ['command', 'projector']);
  const token = stack.token('hq-admin');
  try {
    const rows: Measurement[] = [];
    const memory: Record<string, number> = {};
    const { id: regionId } = await stack.command<{ id: string }>('/regions', { code: 'one-by-one', name: 'Baseline' });
    const register = async (i: number, prefix: string) => {
      await stack.command('/stores', {
        code: `${prefix}-${i}`,
        name: `Store ${prefix} ${i}`,
        regionId,
        tags: ['city', 'mall'],
        locale: 'fr-FR',
        timezone: 'Europe/Paris',
      });
    };
    await measure('warm-up', WARM_UP, CLIENTS, (i) => register(i, 'warm'));
    const baseline = await measure(
      `POST /v1/stores, one store per request (${CLIENTS} clients)`,
      ONE_BY_ONE,
      CLIENTS,
      (i) => register(i, 'single'),
    );
    rows.push(baseline);
    await importOnce(stack, token, 'import warm-up', WARM_UP, directoryCsv('warm', WARM_UP));

    const results: Record<number, { first: Measurement; again: Measurement }> = {};
    for (const n of SIZES) {
      const csv = directoryCsv(`imp${n}`, n);
      const sampler = sampleProcess(stack.processes.command!.pid!);
      const first = await importOnce(stack, token, `POST /v1/imports, ${n} new stores`, n, csv);
      const again = await importOnce(stack, token, `the same ${n} stores again (all unchanged)`, n, csv);
      memory[`command peak RSS MiB (${n})`] = Math.round(sampler.stop().rssPeakMiB);
      memory[`command heap used MiB after (${n})`] = Math.round(
        (await stack.metric('command', 'nodejs_heap_size_used_bytes')) / 2 ** 20,
      );
      if (first.summary.created.stores !== n || again.summary.unchanged.stores !== n) {
        throw new Error(`import of ${n}: ${JSON.stringify({ first: first.summary.created, again: again.summary })}`);
      }
      rows.push(first.row, again.row);
      results[n] = { first: first.row, again: again.row };
    }

    const small = results[SIZES[0]!]!;
    const large = results[SIZES.at(-1)!]!;
    writeResults(
      'import',
      {
        machine: `${cpus().length} cores`,
        kafka: infra.brokers,
        sizes: SIZES,
        'one-by-one stores': ONE_BY_ONE,
        clients: CLIENTS,
        ...memory,
      },
      rows,
      {
        title: 'Directory import: stores per second through POST /v1/imports',
        metrics: [
          {
            name: `import rate, ${SIZES[0]} stores`,
            unit: 'stores/s',
            value: small.first.perSecond,
            baseline: baseline.perSecond,
            baselineName: `POST /v1/stores one by one, ${CLIENTS} clients`,
            lowerIsBetter: false,
            goal: 1_000,
            goalIsAbsolute: true,
          },
          ...(SIZES.length > 1
            ? [
                {
                  name: `import rate, ${SIZES.at(-1)} stores`,
                  unit: 'stores/s',
                  value: large.first.perSecond,
                  baseline: baseline.perSecond,
                  baselineName: `POST /v1/stores one by one, ${CLIENTS} clients`,
                  lowerIsBetter: false,
                  goal: 1_000,
                  goalIsAbsolute: true,
                },
                {
                  name: `import time, ${SIZES.at(-1)} stores`,
                  unit: 's',
                  value: large.first.seconds,
                  lowerIsBetter: true,
                  goal: 60,
                  goalIsAbsolute: true,
                },
              ]
            : []),
          {
            name: `re-import, ${SIZES.at(-1)} unchanged stores`,
            unit: 'stores/s',
            value: large.again.perSecond,
            lowerIsBetter: false,
          },
        ],
      },
    );
  } finally {
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
