/**
 * A trace of national publishes (not a scenario of `npm run bench`): where the time goes
 * between the HTTP answer and the last terminal. `node dist/bench/trace-publish.js
 * <stores> <terminals> [rounds]` prints, per publish, when the feed topic had its first
 * and last entry (read_committed), when the projector's first and last Redis
 * notification came, and when the first and last terminal had it, all from the HTTP answer.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Redis from 'ioredis';
import { topicNames } from '@lastmeter/contracts';
import { createKafkaClient } from '@lastmeter/kafka';
import { feedChannel } from '@lastmeter/redis';
import { awaitDelivery, Fleet, msSince } from './lib/fleet';
import { draftNotices, publish, startStack, storeIds, terminalsOf, untilQuiet } from './lib/stack';
import { benchInfra, runMain } from './support';

interface Span {
  service: string;
  traceId: string;
  name: string;
  start: bigint;
  end: bigint;
}

/**
 * With TRACE_SPANS=1 the apps export their OpenTelemetry spans to this OTLP/HTTP JSON
 * receiver, and each publish's trace is printed as a timeline (ms from the first span).
 */
async function spanCollector(): Promise<{ endpoint: string; spans: Span[]; close(): void }> {
  const spans: Span[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
        resourceSpans?: Array<{
          resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
          scopeSpans: Array<{
            spans: Array<{ traceId: string; name: string; startTimeUnixNano: string; endTimeUnixNano: string }>;
          }>;
        }>;
      };
      for (const { resource, scopeSpans } of body.resourceSpans ?? []) {
        const service = resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const scope of scopeSpans) {
          for (const span of scope.spans) {
            spans.push({
              service,
              traceId: span.traceId,
              name: span.name,
              start: BigInt(span.startTimeUnixNano),
              end: BigInt(span.endTimeUnixNano),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { endpoint, spans, close: () => server.close() };
}

function printTimeline(spans: Span[]): void {
  const traces = new Map<string, Span[]>();
  for (const span of spans) traces.set(span.traceId, [...(traces.get(span.traceId) ?? []), span]);
  // The publish's trace is the one with a feed-sequencer span.
  for (const list of traces.values()) {
    if (!list.some((s) => /publish/.test(s.name))) continue;
    const t0 = list.reduce((min, s) => (s.start < min ? s.start : min), list[0]!.start);
    const ms = (t: bigint) => (Number(t - t0) / 1e6).toFixed(1);
    const rows = [...list].sort((a, b) => (a.start < b.start ? -1 : 1));
    console.error(rows.map((s) => `  ${ms(s.start)}–${ms(s.end)} ${s.service} ${s.name}`).join('\n'));
  }
}

async function main(): Promise<void> {
  const [stores, terminals, rounds] = process.argv.slice(2).map(Number);
  const infra = await benchInfra();
  const collector = process.env.TRACE_SPANS ? await spanCollector() : undefined;
  const stack = await startStack(
    infra,
    undefined,
    collector
      ? {
          OTEL_TRACES_EXPORTER: 'otlp',
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
          OTEL_BSP_SCHEDULE_DELAY: '200',
        }
      : {},
  );
  const fleet = Fleet.for(terminals!);
  const seen = { feed: [] as bigint[], notified: [] as bigint[] };
  const consumer = createKafkaClient({ brokers: [infra.brokers], clientId: 'bench-trace' }).consumer({
    groupId: `trace-${Date.now()}`,
  });
  const sub = new Redis(infra.redisUrl);
  try {
    const lines = ['kind,code,name,region', 'region,t,T,'];
    for (let i = 0; i < stores!; i++) lines.push(`store,t-${i},Store ${i},t`);
    const response = await fetch(`${stack.urls.command}/v1/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.token('hq-admin')}`, 'content-type': 'text/csv' },
      body: lines.join('\n'),
    });
    if (!response.ok) throw new Error(`import: ${response.status}`);
    await untilQuiet(stack);
    // The terminals spread over the stores as in `end-to-end` (10 stores, 1,000 terminals is its first row).
    const ids = await storeIds(stack, stores!);
    await fleet.connect('terminal', stack.urls.gateway, await terminalsOf(stack, ids, terminals!));
    await consumer.connect();
    await consumer.subscribe({ topic: topicNames(stack.prefix).feed, fromBeginning: false });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = process.hrtime.bigint();
        for (let i = 0; i < batch.messages.length; i++) seen.feed.push(now);
      },
    });
    await sub.subscribe(feedChannel(stack.prefix));
    sub.on('message', () => seen.notified.push(process.hrtime.bigint()));
    await new Promise((r) => setTimeout(r, 3000));
    const drafts = await draftNotices(stack, rounds ?? 5, 5);
    await untilQuiet(stack);
    await fleet.collect();
    for (const id of drafts) {
      seen.feed = [];
      seen.notified = [];
      const t0 = process.hrtime.bigint();
      await publish(stack, id);
      const t1 = process.hrtime.bigint();
      const delivered = (await awaitDelivery(fleet, [id], terminals!, 120_000)).get(id)!;
      await untilQuiet(stack, 500);
      if (collector) {
        await new Promise((r) => setTimeout(r, 500));
        printTimeline(collector.spans.splice(0));
      }
      const at = (t: bigint | undefined) => (t === undefined ? '-' : msSince(t1, t).toFixed(0));
      console.error(
        `answer ${msSince(t0, t1).toFixed(0)} ms | feed ${seen.feed.length} entries ${at(seen.feed[0])}…${at(seen.feed.at(-1))} | notified ${seen.notified.length} ${at(seen.notified[0])}…${at(seen.notified.at(-1))} | terminals ${at(delivered.first)}…${at(delivered.last)} ms`,
      );
    }
    // The command service's own account of the same publishes: mean decision, Kafka
    // transaction (by contents) and sequencing pass.
    const metrics = await (await fetch(`${stack.urls.command}/metrics`)).text();
    const mean = new Map<string, { sum?: number; count?: number }>();
    for (const line of metrics.split('\n')) {
      const m =
        /^(lastmeter_(?:command_decision|kafka_transaction|feed_sequencing)_seconds)_(sum|count)(\{[^}]*\})? (\S+)/.exec(
          line,
        );
      if (!m) continue;
      const key = `${m[1]}${m[3] ?? ''}`;
      mean.set(key, { ...mean.get(key), [m[2]!]: Number(m[4]) });
    }
    for (const [key, { sum = 0, count = 0 }] of mean) {
      console.error(`${key}: ${count} × mean ${((sum / Math.max(count, 1)) * 1000).toFixed(1)} ms`);
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    sub.disconnect();
    collector?.close();
    await fleet.close();
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
