/**
 * Scale curves (issue 16): the costs that grow with the business, at 1k, 5k and 20k
 * stores (one growing directory, imported in steps), each against a baseline from the
 * same run:
 * - a national publish (audience: all) → the last connected terminal has it, with one
 *   terminal per store up to TERMINALS; baseline: a bare Socket.IO broadcast from
 *   memory to as many clients (the fan-out floor);
 * - the per-store cost: the slope of that latency between sizes with the same
 *   terminals (the goal: 0.1 ms per store or less);
 * - receipts: every connected terminal sends delivered, read and acknowledged for the
 *   last publish (receipts/s, first send → last ack), then the time until the reach
 *   board counts every terminal at every step; baseline: a bare kafkajs producer writing
 *   as many messages in sends of the gateway's mean batch (bench/lib/receipts.ts);
 * - the import rate of each step (POST /v1/imports);
 * - RSS of each app per store (per terminal: the `memory` scenario).
 * Writes bench/results/scale.json (`parameters.stores`: the sizes run) and the SVG of
 * cost against N in bench/results/scale.svg (bench/RESULTS.md shows it).
 */
import { RECEIPT_KINDS, type ImportSummary } from '@lastmeter/contracts';
import { bareFanout } from './fanout-floor.bench';
import { awaitDelivery, Fleet, msSince } from './lib/fleet';
import { longHistory } from './lib/long-history';
import { procStats } from './lib/proc-stats';
import { bareFactBaseline, reachExactAfter } from './lib/receipts';
import { round, sized, summary, writeScenario, type Metric } from './lib/results';
import { draftNotices, publish, startStack, storeIds, untilQuiet, type AppName, type Stack } from './lib/stack';
import { benchInfra, runMain } from './support';

/**
 * `BENCH_SCALE_ONLY=long-history` runs only the long-history row (on a fresh stack, no
 * directory sizes) and writes it as its own scenario, `scale-long-history`, so that
 * scale.json is left alone.
 */
const ONLY_LONG_HISTORY = process.env.BENCH_SCALE_ONLY === 'long-history';
export const SCALE_SIZES = ONLY_LONG_HISTORY
  ? []
  : sized({ full: [1_000, 5_000, 20_000], quick: [1_000, 5_000], tiny: [100, 300] });
const TERMINALS = sized({ full: 5_000, quick: 2_000, tiny: 100 });
const ROUNDS = sized({ full: 8, quick: 5, tiny: 3 });
const WARM_UP = 2;
const APPS: AppName[] = ['command', 'projector', 'gateway'];

/** Imports stores `from`…`to - 1` of one region (created by the first step); stores/s. */
async function importStores(stack: Stack, from: number, to: number): Promise<{ ids: string[]; perSecond: number }> {
  const lines = ['kind,code,name,region,tags,locale,timezone'];
  if (from === 0) lines.push('region,scale,Scale region,,,,');
  for (let i = from; i < to; i++) lines.push(`store,scale-${i},Store ${i},scale,city,fr-FR,Europe/Paris`);
  const started = process.hrtime.bigint();
  const response = await fetch(`${stack.urls.command}/v1/imports`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.token('hq-admin')}`,
      'content-type': 'text/csv',
      accept: 'application/json',
    },
    body: `${lines.join('\n')}\n`,
  });
  const summary = (await response.json()) as ImportSummary & { ids?: unknown };
  const seconds = msSince(started, process.hrtime.bigint()) / 1_000;
  if (response.status !== 200 || summary.created.stores !== to - from) {
    throw new Error(`import ${from}…${to}: ${response.status} ${JSON.stringify(summary).slice(0, 500)}`);
  }
  return { ids: [], perSecond: Math.round((to - from) / seconds) };
}

function rssMiB(stack: Stack): Record<AppName, number> {
  return Object.fromEntries(
    APPS.map((app) => [app, round(procStats(stack.processes[app]!.pid!).rssBytes / 2 ** 20, 1)]),
  ) as Record<AppName, number>;
}

async function main(): Promise<void> {
  const infra = await benchInfra();
  const stack = await startStack(infra);
  const metrics: Metric[] = [];
  const samples: Record<string, number[]> = {};
  const curves: Record<string, Record<number, number>> = {
    'publish → last terminal p50 (ms)': {},
    'bare Socket.IO broadcast p50 (ms)': {},
    'receipts/s': {},
    'reach board exact after last ack (ms)': {},
    'import (stores/s)': {},
  };
  for (const app of APPS) curves[`${app} RSS (MiB)`] = {};
  const rss: Record<number, Record<AppName, number>> = {};
  try {
    const drafts = SCALE_SIZES.length ? await draftNotices(stack, SCALE_SIZES.length * ROUNDS, 10) : [];
    let imported = 0;
    let used = 0;
    for (const n of SCALE_SIZES) {
      const { perSecond } = await importStores(stack, imported, n);
      imported = n;
      curves['import (stores/s)'][n] = perSecond;
      await untilQuiet(stack);
      const terminals = Math.min(n, TERMINALS);
      console.error(`scale: ${n} stores (imported at ${perSecond}/s), ${terminals} terminals`);
      const stores = await storeIds(stack, terminals);
      const fleet = Fleet.for(terminals);
      try {
        // Cursor-less: each terminal gets its store's live set, then live items.
        await fleet.connect(
          'terminal',
          stack.urls.gateway,
          stores.map((storeId, i) => ({ token: stack.token('terminal', { sub: `scale-terminal-${i}`, storeId }) })),
        );
        await untilQuiet(stack);
        await fleet.collect(); // forget the live sets
        const latencies: number[] = [];
        const accepted: number[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          const id = drafts[used++]!;
          const t0 = process.hrtime.bigint();
          const status = await publish(stack, id);
          const t1 = process.hrtime.bigint();
          if (status !== 200) throw new Error(`publish answered ${status}`);
          const delivered = await awaitDelivery(fleet, [id], terminals, 120_000);
          if (r >= WARM_UP) {
            // The command service announces the item on commit while it answers: the last
            // terminal may have it before this process has read the answer (0, not negative).
            latencies.push(Math.max(0, msSince(t1, delivered.get(id)!.last)));
            accepted.push(msSince(t0, t1));
          }
          await untilQuiet(stack, 500);
        }
        // The return trip: three receipts from every terminal for the last publish.
        const last = drafts[used - 1]!;
        const sent = await fleet.receipts(last, 1, [...RECEIPT_KINDS], 300_000);
        if (sent.acked !== terminals * RECEIPT_KINDS.length) {
          throw new Error(
            `receipts: ${sent.acked} acked of ${terminals * RECEIPT_KINDS.length}: ${sent.errors.join('; ')}`,
          );
        }
        const reach = await reachExactAfter(stack, [last], terminals, sent.lastAck);
        if (reach.ms === undefined) throw new Error(`reach board not exact: ${reach.missing.join('; ')}`);
        const receiptsPerSecond = Math.round(sent.acked / sent.seconds);
        curves['receipts/s'][n] = receiptsPerSecond;
        curves['reach board exact after last ack (ms)'][n] = round(reach.ms, 0);
        // The gateway's mean send so far: the baseline writes in sends of that size.
        const meanBatch = Math.max(
          1,
          Math.round(
            (await stack.metric('gateway', 'lastmeter_gateway_facts_written_total')) /
              Math.max(1, await stack.metric('gateway', 'lastmeter_gateway_fact_sends_total')),
          ),
        );
        const bareFacts = await bareFactBaseline(infra.brokers, stores, sent.acked, meanBatch);
        const bareRate = Math.round(bareFacts.sent / bareFacts.seconds);
        console.error(
          `  ${sent.acked} receipts in ${sent.seconds.toFixed(2)} s = ${receiptsPerSecond}/s (bare kafkajs ${bareRate}/s), reach board exact ${reach.ms.toFixed(0)} ms after the last ack`,
        );
        const e2e = summary(latencies);
        samples[`national publish, ${n} stores`] = latencies;
        rss[n] = rssMiB(stack);
        for (const app of APPS) curves[`${app} RSS (MiB)`][n] = rss[n][app];
        curves['publish → last terminal p50 (ms)'][n] = e2e.p50;
        await fleet.close();
        const bare = summary(await bareFanout('socketio', terminals, 10));
        curves['bare Socket.IO broadcast p50 (ms)'][n] = bare.p50;
        console.error(
          `  publish answered in ${summary(accepted).p50.toFixed(0)} ms; → last of ${terminals} terminals p50 ${e2e.p50.toFixed(0)} ms (bare Socket.IO ${bare.p50.toFixed(0)} ms); RSS ${JSON.stringify(rss[n])}`,
        );
        metrics.push(
          {
            name: `national publish, ${n} stores, ${terminals} terminals: HTTP answer → last terminal, p50`,
            unit: 'ms',
            value: e2e.p50,
            baseline: bare.p50,
            baselineName: `bare Socket.IO broadcast to ${terminals}`,
            lowerIsBetter: true,
            ...(n >= 20_000 ? { goal: 2_000, goalIsAbsolute: true } : {}),
          },
          {
            name: `receipts from ${terminals} terminals at ${n} stores`,
            unit: 'receipts/s',
            value: receiptsPerSecond,
            baseline: bareRate,
            baselineName: `bare kafkajs producer, same count, sends of ${meanBatch}`,
            lowerIsBetter: false,
          },
          {
            name: `reach board exact after the last receipt, ${n} stores`,
            unit: 'ms',
            value: round(reach.ms, 0),
            lowerIsBetter: true,
            goal: 2_000,
            goalIsAbsolute: true,
          },
          {
            name: `national publish, ${n} stores: HTTP answer, p50`,
            unit: 'ms',
            value: summary(accepted).p50,
            lowerIsBetter: true,
          },
          {
            name: `import rate, stores ${SCALE_SIZES[SCALE_SIZES.indexOf(n) - 1] ?? 0} → ${n}`,
            unit: 'stores/s',
            value: perSecond,
            lowerIsBetter: false,
          },
        );
      } finally {
        await fleet.close().catch(() => undefined);
      }
    }
    // The per-store cost: the slope between the two largest sizes run with the same terminals.
    const sameTerminals = SCALE_SIZES.filter((n) => n >= TERMINALS);
    if (sameTerminals.length >= 2) {
      const [a, b] = [sameTerminals.at(-2)!, sameTerminals.at(-1)!];
      const curve = curves['publish → last terminal p50 (ms)'];
      metrics.push({
        name: `per-store cost of a national publish (${a} → ${b} stores, ${TERMINALS} terminals)`,
        unit: 'ms/store',
        value: round((curve[b]! - curve[a]!) / (b - a), 4),
        lowerIsBetter: true,
        goal: 0.1,
        goalIsAbsolute: true,
      });
    }
    const largest = SCALE_SIZES.at(-1)!;
    // Per store: the RSS growth from the smallest to the largest directory (per terminal:
    // the memory scenario, which holds the store count still).
    const smallest = SCALE_SIZES[0]!;
    for (const app of SCALE_SIZES.length ? APPS : []) {
      metrics.push({
        name: `${app} RSS growth per store, ${smallest} → ${largest} stores`,
        unit: 'KiB/store',
        value: round(((rss[largest]![app] - rss[smallest]![app]) * 1024) / (largest - smallest), 2),
        lowerIsBetter: true,
      });
    }

    // A new tablet in a store with a long history (issue 16, item 8).
    const history = await longHistory(stack, infra);
    metrics.push(...history.metrics);
    Object.assign(samples, history.samples);

    writeScenario({
      scenario: ONLY_LONG_HISTORY ? 'scale-long-history' : 'scale',
      title: ONLY_LONG_HISTORY
        ? 'Scale: a new tablet in a store with a long history (the long-history row alone)'
        : 'Scale curves: national publish, import and memory against the number of stores',
      parameters: {
        stores: SCALE_SIZES,
        terminals: TERMINALS,
        rounds: ROUNDS,
        warmUp: WARM_UP,
        rss,
        curves,
        history: history.parameters,
      },
      metrics,
      samples,
    });
  } finally {
    await stack.stop();
    await infra.stop();
  }
}

if (require.main === module) runMain(main);
