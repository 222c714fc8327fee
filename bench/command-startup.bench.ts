/**
 * Command service start-up and memory (issue 16, item 3): a directory of S stores and T
 * terminals (imported) and C communications (each published to a few stores), then the
 * command service is stopped and started again. Measured: the time from its start until
 * it decides a command (it has read the log: events, feed and credentials, and owns its
 * partitions), its RSS and heap then. Baseline in the same run: a bare kafkajs consumer
 * reading the same three topics from the beginning and parsing every message, the floor
 * of any start-up that reads the log. Goals: ≤ 30 s and ≤ 300 MiB RSS at 50,000 stores,
 * 150,000 terminals and 10,000 communications.
 */
import { topicNames, type ImportSummary } from '@lastmeter/contracts';
import { createKafkaClient, readWholeTopic } from '@lastmeter/kafka';
import { forEachConcurrently } from './lib/concurrently';
import { msSince } from './lib/fleet';
import { procStats, sampleProcess } from './lib/proc-stats';
import { round, sized, writeScenario, type Metric } from './lib/results';
import { stopChild } from './lib/fleet';
import { draftNotices, publish, startStack, storeIds, untilQuiet, type Stack } from './lib/stack';
import { benchInfra, runMain } from './support';

const STORES = sized({ full: 50_000, quick: 10_000, tiny: 200 });
const TERMINALS_PER_STORE = 3;
const COMMUNICATIONS = sized({ full: 10_000, quick: 2_000, tiny: 40 });
const STORES_PER_COMMUNICATION = 5;
const REGIONS = sized({ full: 100, quick: 20, tiny: 2 });

/** Regions and stores spread over them, then TERMINALS_PER_STORE terminals per store (files of at most 50,000 rows). */
async function importDirectory(stack: Stack): Promise<{ seconds: number }> {
  const header = 'kind,code,name,region,tags,locale,timezone,store,roles';
  const rows: string[] = [];
  for (let r = 0; r < REGIONS; r++) rows.push(`region,r${r},Region ${r},,,,,,`);
  for (let s = 0; s < STORES; s++) rows.push(`store,s${s},Store ${s},r${s % REGIONS},city,fr-FR,Europe/Paris,,`);
  for (let s = 0; s < STORES; s++) {
    for (let t = 0; t < TERMINALS_PER_STORE; t++) rows.push(`terminal,,till ${t},,,,,s${s},`);
  }
  const started = process.hrtime.bigint();
  // Regions before stores before terminals: each file's rows only need what earlier files imported.
  for (let from = 0; from < rows.length; from += 50_000) {
    const response = await fetch(`${stack.urls.command}/v1/imports`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stack.token('hq-admin')}`,
        'content-type': 'text/csv',
        accept: 'application/json',
      },
      body: `${[header, ...rows.slice(from, from + 50_000)].join('\n')}\n`,
    });
    const summary = (await response.json()) as ImportSummary;
    if (response.status !== 200 || summary.refused.length > 0) {
      throw new Error(`import: ${response.status} ${JSON.stringify(summary).slice(0, 500)}`);
    }
  }
  return { seconds: msSince(started, process.hrtime.bigint()) / 1_000 };
}

/** COMMUNICATIONS notices, each drafted for and published to a few stores, 50 at a time. */
async function seedCommunications(stack: Stack, stores: string[]): Promise<number> {
  const started = process.hrtime.bigint();
  const batch = 500;
  for (let from = 0; from < COMMUNICATIONS; from += batch) {
    const count = Math.min(batch, COMMUNICATIONS - from);
    const audience = {
      storeIds: Array.from(
        { length: STORES_PER_COMMUNICATION },
        (_, i) => stores[(from * 7 + i * 997) % stores.length]!,
      ),
    };
    const ids = await draftNotices(stack, count, 50, audience);
    await forEachConcurrently(ids.length, 50, async (i) => {
      const status = await publish(stack, ids[i]!);
      if (status !== 200) throw new Error(`publish answered ${status}`);
    });
  }
  return msSince(started, process.hrtime.bigint()) / 1_000;
}

/** Polls `url` with a command until it is decided (201): the service has caught up and owns its partitions. */
async function firstDecision(stack: Stack, url: string): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const response = await fetch(`${url}/v1/regions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token('hq-admin')}` },
      body: JSON.stringify({ code: `after-restart-${attempt}`, name: 'After the restart' }),
    }).catch(() => undefined);
    if (response?.status === 201) return;
    await response?.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the restarted command service decided nothing within 300 s');
}

/** The floor: read events, feed and credentials from the beginning and parse every message. */
async function bareRead(brokers: string, prefix: string): Promise<{ seconds: number; messages: number }> {
  const kafka = createKafkaClient({ brokers: [brokers], clientId: 'bench-startup-floor' });
  const topics = topicNames(prefix);
  const started = process.hrtime.bigint();
  let messages = 0;
  for (const topic of [topics.events, topics.feed, topics.credentials]) {
    for (const message of await readWholeTopic(kafka, topic)) {
      if (message.value) JSON.parse(message.value.toString());
      messages++;
    }
  }
  return { seconds: msSince(started, process.hrtime.bigint()) / 1_000, messages };
}

/** When the restarted service's settled memory is read: the goal's start-up budget. */
const SETTLED_AFTER_S = Number(process.env.BENCH_SETTLED_AFTER_S ?? sized({ full: 30, quick: 30, tiny: 5 }));

async function heapUsed(url: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  return Number(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1] ?? NaN);
}

async function main(): Promise<void> {
  const infra = await benchInfra();
  const stack = await startStack(infra);
  try {
    console.error(
      `command start-up: ${STORES} stores, ${STORES * TERMINALS_PER_STORE} terminals, ${COMMUNICATIONS} communications`,
    );
    const imported = await importDirectory(stack);
    console.error(`  imported in ${imported.seconds.toFixed(1)} s`);
    await untilQuiet(stack, 1_000, 600_000);
    const stores = await storeIds(stack);
    const seeded = await seedCommunications(stack, stores);
    console.error(`  ${COMMUNICATIONS} communications drafted and published in ${seeded.toFixed(1)} s`);
    await untilQuiet(stack, 1_000, 600_000);
    const before = procStats(stack.processes.command!.pid!);

    await stopChild(stack.processes.command!);
    const started = process.hrtime.bigint();
    const restarted = await stack.another('command');
    const sampling = sampleProcess(restarted.process.pid!);
    const ready = msSince(started, process.hrtime.bigint()) / 1_000;
    await firstDecision(stack, restarted.url);
    const startup = msSince(started, process.hrtime.bigint()) / 1_000;
    const after = procStats(restarted.process.pid!);
    const heap = await heapUsed(restarted.url);
    const floor = await bareRead(infra.brokers, stack.prefix);
    // What it holds once started and settled: at the end of the start-up budget (30 s),
    // V8 has collected the garbage of reading the log (its memory reducer runs once the
    // allocation rate drops). The RSS at the first decision still holds that garbage.
    const settleMs = SETTLED_AFTER_S * 1_000 - msSince(started, process.hrtime.bigint());
    if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
    const settled = procStats(restarted.process.pid!);
    const peak = sampling.stop().rssPeakMiB;
    const settledHeap = await heapUsed(restarted.url);
    console.error(
      `  ${SETTLED_AFTER_S} s after the restart: RSS ${(settled.rssBytes / 2 ** 20).toFixed(0)} MiB (peak ${peak.toFixed(0)} MiB), heap ${(settledHeap / 2 ** 20).toFixed(0)} MiB`,
    );
    console.error(
      `  restart: ready ${ready.toFixed(1)} s, first decision ${startup.toFixed(1)} s (bare read of ${floor.messages} messages ${floor.seconds.toFixed(1)} s); RSS ${(after.rssBytes / 2 ** 20).toFixed(0)} MiB (before the restart ${(before.rssBytes / 2 ** 20).toFixed(0)} MiB), heap ${(heap / 2 ** 20).toFixed(0)} MiB`,
    );
    const metrics: Metric[] = [
      {
        name: `command service start-up to its first decision (${STORES} stores, ${STORES * TERMINALS_PER_STORE} terminals, ${COMMUNICATIONS} communications)`,
        unit: 's',
        value: round(startup, 1),
        baseline: round(floor.seconds, 1),
        baselineName: `bare kafkajs read + JSON.parse of the ${floor.messages} messages of events, feed and credentials`,
        lowerIsBetter: true,
        ...(STORES >= 50_000 ? { goal: 30, goalIsAbsolute: true } : {}),
      },
      {
        name: `command service RSS ${SETTLED_AFTER_S} s after the restart (started and settled)`,
        unit: 'MiB',
        value: round(settled.rssBytes / 2 ** 20, 0),
        lowerIsBetter: true,
        ...(STORES >= 50_000 ? { goal: 300, goalIsAbsolute: true } : {}),
      },
      {
        name: `command service heap used ${SETTLED_AFTER_S} s after the restart`,
        unit: 'MiB',
        value: round(settledHeap / 2 ** 20, 0),
        lowerIsBetter: true,
      },
      {
        name: 'command service RSS at its first decision',
        unit: 'MiB',
        value: round(after.rssBytes / 2 ** 20, 0),
        lowerIsBetter: true,
      },
      {
        name: 'command service heap used at its first decision',
        unit: 'MiB',
        value: round(heap / 2 ** 20, 0),
        lowerIsBetter: true,
      },
      {
        name: `command service peak RSS in the ${SETTLED_AFTER_S} s after the restart`,
        unit: 'MiB',
        value: round(peak, 0),
        lowerIsBetter: true,
      },
      {
        name: 'command service RSS before the restart (after seeding)',
        unit: 'MiB',
        value: round(before.rssBytes / 2 ** 20, 0),
        lowerIsBetter: true,
      },
    ];
    writeScenario({
      scenario: 'command-startup',
      title: 'Command service start-up and memory against the size of the log',
      parameters: {
        stores: STORES,
        terminals: STORES * TERMINALS_PER_STORE,
        communications: COMMUNICATIONS,
        storesPerCommunication: STORES_PER_COMMUNICATION,
        regions: REGIONS,
        importSeconds: round(imported.seconds, 1),
        seedSeconds: round(seeded, 1),
        readySeconds: round(ready, 1),
        messages: floor.messages,
      },
      metrics,
    });
    await restarted.stop();
  } finally {
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
