import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { loadConfig } from '@lastmeter/config';
import { createKafkaClient, readWholeTopic } from '@lastmeter/kafka';
import type { FeedMessage } from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { Publisher } from '../support/write-api';

/**
 * Issue 20, item 6: with OTEL_TRACES_EXPORTER=otlp, one trace covers a publish from the
 * HTTP request through the command, the decision, the feed sequencer, the projector and
 * the gateway's emit, across three processes and three Kafka hops. The spans are what
 * the apps' OTLP exporters send to a collector (an OTLP/HTTP JSON receiver here), and
 * the records on the way carry the trace in their `traceparent` header.
 */
interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

const received: ExportedSpan[] = [];
let collector: Server;

/** An OTLP/HTTP receiver: POST /v1/traces with ExportTraceServiceRequest as JSON. */
function startCollector(): Promise<string> {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
            scopeSpans: Array<{ spans: Array<Omit<ExportedSpan, 'service'>> }>;
          }>;
        };
        for (const { resource, scopeSpans } of body.resourceSpans) {
          const service = resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const { spans } of scopeSpans) {
            for (const span of spans) received.push({ ...span, service, parentSpanId: span.parentSpanId || undefined });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    collector.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(collector.address() as AddressInfo).port}`)),
  );
}

let ns: ReturnType<typeof testNamespace>;
let apps: Record<AppName, RunningApp>;
let api: Publisher;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  const endpoint = await startCollector();
  ns = testNamespace('tracing', {
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    // Export every 100 ms instead of 5 s.
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
  await new Promise((resolve) => collector.close(resolve));
});

it('follows one publish from the HTTP request to the socket emit, through every Kafka hop', async () => {
  const region = await api.region('traced');
  const store = await api.store('TR1', region);
  const { token } = await api.terminal(store);
  const client = new TerminalClient({ url: apps.gateway.url, token, cursors: new MemoryCursorStore() });
  clients.push(client);
  const items: FeedMessage[] = [];
  client.onItem((item) => items.push(item));
  await client.connect();
  const { id } = await api.draft({ title: 'Traced notice', audience: { storeIds: [store] } });

  // The caller's own trace: the publish request continues it.
  const traceId = randomBytes(16).toString('hex');
  const callerSpan = randomBytes(8).toString('hex');
  await request(apps.command.url)
    .post(`/v1/communications/${id}/publish`)
    .set({ authorization: `Bearer ${api.token('hq-editor')}`, traceparent: `00-${traceId}-${callerSpan}-01` })
    .send({})
    .expect(200);
  await eventually(() =>
    expect(items.some((item) => 'communication' in item && item.communication.id === id)).toBe(true),
  );

  const expected: Array<[service: string, name: string]> = [
    ['lastmeter-command', 'POST /v1/communications/:id/publish'],
    ['lastmeter-command', 'command communication.publish'],
    ['lastmeter-command', 'decide communication.publish'],
    // The decision's transaction carries the feed entry (COMMAND_FEED_IN_DECISION, the
    // default): the projector's span is its child, with no 'sequence feed' between.
    ['lastmeter-projector', 'project feed'],
    ['lastmeter-gateway', 'emit feed'],
  ];
  const trace = await eventually(
    () => {
      const spans = received.filter((span) => span.traceId === traceId);
      for (const [service, name] of expected) {
        expect(spans).toContainEqual(expect.objectContaining({ service, name }));
      }
      return spans;
    },
    { timeoutMs: 30_000, what: 'every hop to export its span' },
  );

  // One tree: each hop is the child of the one before, down from the caller's span.
  let parents = [callerSpan];
  for (const [, name] of expected) {
    const hop = trace.filter((span) => span.name === name && parents.includes(span.parentSpanId!));
    expect({ name, children: hop.length > 0 }).toEqual({ name, children: true });
    parents = hop.map((span) => span.spanId);
  }

  // The trace rides in the records' headers on every Kafka hop. Decided in its request
  // (COMMAND_DECIDE_IN_REQUEST; its partition had decided the draft), the publish took no
  // hop through the commands topic; through the log, it did.
  const kafka = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test-tracing' });
  const traced = async (topic: string, type: string) =>
    (await readWholeTopic(kafka, topic))
      .filter((record) => record.headers.type?.toString() === type)
      .some((record) => record.headers.traceparent?.toString().split('-')[1] === traceId);
  const inRequest = loadConfig('command', ns.env).COMMAND_DECIDE_IN_REQUEST;
  expect(await traced(`${ns.topicPrefix}lastmeter.commands.v1`, 'communication.publish')).toBe(!inRequest);
  expect(await traced(`${ns.topicPrefix}lastmeter.events.v1`, 'communication.published')).toBe(true);
  expect(await traced(`${ns.topicPrefix}lastmeter.feed.v1`, 'feed.batch')).toBe(true);
});

it('starts a trace of its own for a request that carries none, and the records it writes carry it', async () => {
  const region = await api.region('untraced');
  const kafka = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test-tracing-2' });
  // Its command's record if it went through the commands topic (through the log, or the
  // first command of its partition since the start), and its event whichever way it was decided.
  const [commands, events] = await Promise.all(
    ['commands', 'events'].map((topic) => readWholeTopic(kafka, `${ns.topicPrefix}lastmeter.${topic}.v1`)),
  );
  const ofRegion = (records: typeof commands, type: string) =>
    records!.filter((r) => r.headers.type?.toString() === type && r.value?.toString().includes(region));
  const [event] = ofRegion(events, 'region.defined');
  const traceparent = /^00-([0-9a-f]{32})-[0-9a-f]{16}-01$/;
  const trace = event?.headers.traceparent?.toString().match(traceparent)?.[1];
  expect(trace).toBeDefined();
  const records = ofRegion(commands, 'region.define');
  if (!loadConfig('command', ns.env).COMMAND_DECIDE_IN_REQUEST) expect(records).toHaveLength(1);
  for (const record of records) expect(record.headers.traceparent?.toString().match(traceparent)?.[1]).toBe(trace);
});
