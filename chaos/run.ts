/**
 * `npm run chaos [-- <fault>…] [--seconds 60] [--terminals 500] [--stores 100] [--rate 5]`
 * (issue 18 item 3). Starts the cluster profile (`lastmeter start-cluster`: three KRaft
 * brokers, Redis with Sentinel, two of every app, HAProxy), then for each fault: puts it
 * under load (head office publishing to many stores, terminals connected through HAProxy
 * answering every item with a receipt, connections dropped and restored, analysts
 * reading), kills one part with SIGKILL a third of the way in, and afterwards holds what
 * every terminal got against the Kafka log and the read models against a from-scratch
 * projection. Writes `chaos/results/<fault>.json` and `chaos/results/summary.md`; exits
 * non-zero when a run lost, duplicated or reordered anything, a read model differed, or
 * an HTTP answer was a 5xx other than 503 with Retry-After.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { expandFeedBatch, FEED_BATCH, topicNames, type DomainEvent, type FeedBatchRecord } from '@lastmeter/contracts';
import { createKafkaClient, readWholeTopic } from '@lastmeter/kafka';
import { dropGeneration, dumpDifferences, dumpReadModels, RedisKeys } from '@lastmeter/read-models';
import { createRedisClient } from '@lastmeter/redis';
import { ChaosCluster } from './lib/cluster';
import { FAULTS, inject, type Fault, type Injected } from './lib/faults';
import { TerminalFleet } from './lib/fleet';
import { HttpTally, publishLoad, readLoad, Writer, type Published } from './lib/load';
import type { TerminalRecord } from './lib/terminals';
import { countDeliveries, countReceipts, recoverySeconds, type StoreFeeds } from './lib/verify';

const RESULTS = resolve(__dirname, '../../chaos/results');
const KEY_PREFIX = 'lm:';

export interface ChaosResult {
  fault: Fault;
  brokers: number;
  terminals: number;
  publishes: number;
  receipts: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  readModelDiffs: number;
  recoverySeconds: number | null;
  http503: number;
  http5xxOther: number;
  passed: boolean;
  failures: string[];
  details: {
    victim: string;
    at: string;
    loadSeconds: number;
    stores: number;
    mismatched: number;
    deliveryExamples: string[];
    receiptsLost: number;
    receiptsDuplicatedInLog: number;
    /** Receipts the gateway refused, or never acknowledged: a tablet would have shown an error. */
    receiptsRefused: number;
    receiptErrors: string[];
    reconnects: number;
    httpByStatus: Record<string, number>;
    http5xxExamples: string[];
    readModelDiffKeys: string[];
    caughtUpSeconds: number;
  };
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '60' },
    terminals: { type: 'string', default: '500' },
    stores: { type: 'string', default: '100' },
    rate: { type: 'string', default: '5' },
  },
});
const options = {
  seconds: Number(values.seconds),
  terminals: Number(values.terminals),
  stores: Number(values.stores),
  rate: Number(values.rate),
};
const faults = (positionals.length ? positionals : [...FAULTS]) as Fault[];
for (const fault of faults) {
  if (!FAULTS.includes(fault)) {
    process.stderr.write(`unknown fault "${fault}"; one of: ${FAULTS.join(', ')}\n`);
    process.exit(2);
  }
}

const started = Date.now();
function log(line: string): void {
  process.stderr.write(`[chaos ${((Date.now() - started) / 1_000).toFixed(0).padStart(4)}s] ${line}\n`);
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A region of fresh stores for one run (eight requests at a time). */
async function setUpStores(
  writer: Writer,
  fault: Fault,
  count: number,
): Promise<{ regionId: string; stores: string[] }> {
  const tag = `${fault}-${Date.now().toString(36)}`;
  const { id: regionId } = await writer.write('/regions', { code: `chaos-${tag}`, name: `Chaos ${tag}` }, 201);
  const stores: string[] = [];
  for (let i = 0; i < count; i += 8) {
    const batch = Array.from({ length: Math.min(8, count - i) }, (_, j) =>
      writer.write('/stores', { code: `${tag}-${i + j}`, name: `Chaos store ${i + j}`, regionId }, 201),
    );
    stores.push(...(await Promise.all(batch)).map((s) => s.id));
  }
  return { regionId, stores };
}

/** Each of `stores`' feed as the Kafka log has it. */
async function feedsInLog(cluster: ChaosCluster, stores: string[]): Promise<StoreFeeds> {
  const kafka = createKafkaClient({ brokers: cluster.kafkaBrokers.split(','), clientId: 'chaos-feed' });
  const feeds: StoreFeeds = new Map(stores.map((s) => [s, new Map<number, string>()]));
  for (const { value } of await readWholeTopic(kafka, topicNames('').feed)) {
    if (!value) continue;
    const record = JSON.parse(value.toString()) as FeedBatchRecord | DomainEvent<'feed.appended'>;
    const events = record.type === FEED_BATCH ? expandFeedBatch(record as FeedBatchRecord) : [record];
    for (const event of events as Array<DomainEvent<'feed.appended'>>) {
      const { storeId, feedSeq } = event.data;
      const entry = event.data as { communication?: { id: string } };
      feeds.get(storeId)?.set(feedSeq, entry.communication?.id ?? '');
    }
  }
  return feeds;
}

/** The `delivered` receipts of `terminalIds` in the store-events topic. */
async function receiptsInLog(cluster: ChaosCluster, terminalIds: Set<string>) {
  const kafka = createKafkaClient({ brokers: cluster.kafkaBrokers.split(','), clientId: 'chaos-receipts' });
  const receipts: Array<{ terminalId: string; communicationId: string }> = [];
  for (const { value } of await readWholeTopic(kafka, topicNames('').storeEvents)) {
    if (!value) continue;
    const event = JSON.parse(value.toString()) as { type: string; data: unknown };
    if (event.type !== 'receipt.delivered') continue;
    const data = event.data as { terminalId: string; communicationId: string };
    if (terminalIds.has(data.terminalId)) receipts.push(data);
  }
  return receipts;
}

/**
 * Until the log has stopped growing (the write side appends feed entries a moment after
 * a publish is answered), every terminal has every entry of its store's feed and nothing
 * the log does not have yet, and no receipt is pending.
 */
async function untilCaughtUp(cluster: ChaosCluster, fleet: TerminalFleet, stores: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let previous = -1;
  for (;;) {
    const feeds = await feedsInLog(cluster, stores);
    const report = await fleet.report();
    const size = [...feeds.values()].reduce((n, feed) => n + feed.size, 0);
    let behind = 0;
    let ahead = 0;
    for (const t of report.terminals) {
      const seen = new Set(t.seqs);
      const feed = feeds.get(t.storeId)!;
      if ([...feed.keys()].some((seq) => !seen.has(seq))) behind++;
      if (t.seqs.some((seq) => !feed.has(seq))) ahead++;
    }
    const settled = size === previous && behind === 0 && ahead === 0 && report.pendingReceipts === 0;
    if (settled || Date.now() > deadline) return { feeds, report, behind };
    if (size === previous)
      log(`waiting: ${behind} terminals behind the log, ${report.pendingReceipts} receipts unanswered`);
    previous = size;
    await sleep(2_000);
  }
}

/** Until the projectors have applied the whole log (lastmeter_projector_lag all 0, twice in a row). */
async function untilProjected(cluster: ChaosCluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let zeros = 0;
  while (zeros < 2) {
    if (Date.now() > deadline) throw new Error('the projectors did not catch up with the log');
    await sleep(1_000);
    const lags = await Promise.all(
      cluster.instances.projector.map(async (port) => {
        try {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return [...text.matchAll(/^lastmeter_projector_lag\{[^}]*\} (\d+)/gm)].map((m) => Number(m[1]));
        } catch {
          return [];
        }
      }),
    );
    const all = lags.flat();
    zeros = all.length > 0 && all.every((lag) => lag === 0) ? zeros + 1 : 0;
  }
}

/**
 * The live read models against a from-scratch projection of the same log:
 * `lastmeter rebuild --keep-old` projects everything into a new generation and serves
 * it; the old one stays for the comparison, then goes.
 */
async function readModelDifferences(cluster: ChaosCluster): Promise<string[]> {
  const rebuilt = cluster.cli(['rebuild', '--keep-old']);
  const switched = /switched serving from (\S+) to (\S+)/.exec(rebuilt.output);
  if (rebuilt.status !== 0 || !switched) throw new Error(`lastmeter rebuild failed:\n${rebuilt.output}`);
  const [, live, scratch] = switched;
  const redis = createRedisClient(cluster.redisUrl, 'chaos-compare');
  try {
    const differences = dumpDifferences(
      await dumpReadModels(redis, KEY_PREFIX, live!),
      await dumpReadModels(redis, KEY_PREFIX, scratch!),
    );
    // The old generation was kept only for this comparison: gone as `rebuild` drops one.
    await dropGeneration(redis, new RedisKeys(KEY_PREFIX, live!));
    return differences;
  } finally {
    redis.disconnect();
  }
}

async function runFault(cluster: ChaosCluster, fault: Fault): Promise<ChaosResult> {
  log(`── ${fault}: ${options.terminals} terminals over ${options.stores} stores, ${options.seconds} s of load`);
  const tally = new HttpTally();
  const writer = new Writer(cluster.commandUrl, cluster.token('hq-admin'), tally);
  const { regionId, stores } = await setUpStores(writer, fault, options.stores);
  const specs = Array.from({ length: options.terminals }, (_, i) => {
    const terminalId = randomUUID();
    const storeId = stores[i % stores.length]!;
    return { terminalId, storeId, token: cluster.token('terminal', { sub: terminalId, storeId }) };
  });
  const fleet = new TerminalFleet(2);
  try {
    await fleet.connect(cluster.gatewayUrl, specs);
    log(`${specs.length} terminals connected through HAProxy`);

    const loadStarted = Date.now();
    const stopAt = loadStarted + options.seconds * 1_000;
    const stop = () => Date.now() >= stopAt;
    const published: Published[] = [];
    const publishing = publishLoad({ writer, regionId, stores, rate: options.rate, workers: 4, stop, published });
    const reading = readLoad({
      gatewayUrl: cluster.gatewayUrl,
      token: cluster.token('analyst'),
      stores,
      tally,
      stop,
    });
    // Dropped connections all along: 1% of the terminals every two seconds.
    const reconnecting = (async () => {
      while (!stop()) {
        await fleet.reconnect(Math.max(1, Math.round(options.terminals / 100)));
        await sleep(2_000);
      }
    })();
    await sleep((options.seconds * 1_000) / 3);
    const injected: Injected = inject(fault, cluster);
    log(`killed ${injected.victim} (pid ${injected.pid})`);
    await Promise.all([publishing, reading, reconnecting]);
    log(`load over: ${published.length} publishes; waiting for every terminal to catch up`);

    const { feeds, report, behind } = await untilCaughtUp(cluster, fleet, stores, 180_000);
    const caughtUpSeconds = (Date.now() - stopAt) / 1_000;
    if (behind) log(`${behind} terminals still behind after 180 s`);
    const deliveries = countDeliveries(report.terminals, feeds);
    const receipts = countReceipts(
      report.terminals,
      await receiptsInLog(cluster, new Set(specs.map((s) => s.terminalId))),
    );
    await untilProjected(cluster, 120_000);
    const diffs = await readModelDifferences(cluster);
    const recovery = recoverySeconds(injected.at, published, report.terminals, stores.length);
    const receiptErrors = report.terminals.flatMap((t) => t.receiptErrors);
    const result: ChaosResult = {
      fault,
      brokers: cluster.status().kafka.length,
      terminals: specs.length,
      publishes: published.length,
      receipts: receipts.acked,
      lost: deliveries.lost,
      duplicated: deliveries.duplicated,
      outOfOrder: deliveries.outOfOrder,
      readModelDiffs: diffs.length,
      recoverySeconds: recovery === undefined ? null : Math.round(recovery * 10) / 10,
      http503: tally.http503,
      http5xxOther: tally.http5xxOther,
      passed: false,
      failures: [],
      details: {
        victim: injected.victim,
        at: new Date(injected.at).toISOString(),
        loadSeconds: options.seconds,
        stores: stores.length,
        mismatched: deliveries.mismatched,
        deliveryExamples: deliveries.examples,
        receiptsLost: receipts.lost,
        receiptsDuplicatedInLog: receipts.duplicated,
        receiptsRefused: receiptErrors.length,
        receiptErrors: [...new Set(receiptErrors.map((e) => e.replace(/[0-9a-f-]{36}/g, '<id>')))].slice(0, 10),
        reconnects: report.terminals.reduce((n, t) => n + t.reconnects, 0),
        httpByStatus: tally.byStatus,
        http5xxExamples: tally.examples,
        readModelDiffKeys: diffs.slice(0, 20),
        caughtUpSeconds: Math.round(caughtUpSeconds * 10) / 10,
      },
    };
    result.failures = failuresOf(result, report.terminals);
    result.passed = result.failures.length === 0;
    return result;
  } finally {
    await fleet.close();
  }
}

function failuresOf(result: ChaosResult, terminals: TerminalRecord[]): string[] {
  const failures: string[] = [];
  const { details } = result;
  if (result.lost) failures.push(`${result.lost} feed entries never reached their terminal`);
  if (result.duplicated) failures.push(`${result.duplicated} feed entries reached a terminal twice`);
  if (result.outOfOrder) failures.push(`${result.outOfOrder} feed entries arrived out of order`);
  if (details.mismatched) failures.push(`${details.mismatched} feed messages differ from the log`);
  if (details.receiptsRefused) failures.push(`${details.receiptsRefused} receipts refused or never acknowledged`);
  if (details.receiptsLost) failures.push(`${details.receiptsLost} acknowledged receipts are not in the log`);
  if (result.readModelDiffs)
    failures.push(`${result.readModelDiffs} read-model keys differ from a projection from scratch`);
  if (result.http5xxOther) failures.push(`${result.http5xxOther} HTTP 5xx other than 503 with Retry-After`);
  if (result.recoverySeconds === null) failures.push('no publish after the fault reached every terminal');
  if (terminals.length !== result.terminals) failures.push('terminal reports are missing');
  return failures;
}

function summary(results: ChaosResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.fault} | ${r.passed ? 'pass' : 'FAIL'} | ${r.terminals} | ${r.publishes} | ${r.receipts} | ${r.lost} | ${r.duplicated} | ${r.outOfOrder} | ${r.readModelDiffs} | ${r.recoverySeconds ?? '—'} | ${r.http503} | ${r.http5xxOther} |`,
  );
  return [
    '| fault | result | terminals | publishes | receipts | lost | duplicated | out of order | read-model diffs | recovery (s) | 503 + Retry-After | other 5xx |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const cluster = await ChaosCluster.start(log);
  const results: ChaosResult[] = [];
  mkdirSync(RESULTS, { recursive: true });
  try {
    for (const fault of faults) {
      const result = await runFault(cluster, fault);
      writeFileSync(join(RESULTS, `${fault}.json`), `${JSON.stringify(result, null, 2)}\n`);
      log(`${fault}: ${result.passed ? 'PASS' : `FAIL: ${result.failures.join('; ')}`}`);
      results.push(result);
    }
  } finally {
    await cluster.stop();
  }
  // The table holds the latest result of every fault, from this run or an earlier one.
  const latest = readdirSync(RESULTS)
    .filter((file) => file.endsWith('.json'))
    .map((file) => JSON.parse(readFileSync(join(RESULTS, file), 'utf8')) as ChaosResult)
    .sort((a, b) => FAULTS.indexOf(a.fault) - FAULTS.indexOf(b.fault));
  writeFileSync(join(RESULTS, 'summary.md'), summary(latest));
  process.stdout.write(summary(results));
  if (results.some((r) => !r.passed)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`chaos: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
