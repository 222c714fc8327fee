import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import request from 'supertest';
import { parse as parseYaml } from 'yaml';
import { RATE_LIMITED } from '@lastmeter/contracts';
import { findExecutable } from '@lastmeter/infra';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { Publisher, tokenFor } from '../support/write-api';

/**
 * Issue 20, items 4 and 5: the metrics that run a realtime service move as the service
 * works (read from the apps' real /metrics), the alert rules pass `promtool`, and every
 * metric the Grafana dashboard and the alert rules query is one the running apps expose.
 */
const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const ns = testNamespace('observability', { TERMINAL_MESSAGE_RATE: '1', TERMINAL_MESSAGE_BURST: '5' });
let apps: Record<AppName, RunningApp>;
let api: Publisher;
const clients: TerminalClient[] = [];
const sockets: Socket[] = [];

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples and declared metric names (`# TYPE`) of a Prometheus text exposition. */
function parseMetrics(text: string): { samples: Sample[]; declared: Set<string> } {
  const samples: Sample[] = [];
  const declared = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) declared.add(type[1]!);
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { samples, declared };
}

async function scrape(app: AppName) {
  return parseMetrics((await request(apps[app].url).get('/metrics').expect(200)).text);
}

/** Sum of the samples of `name` whose labels include `labels`. */
async function value(app: AppName, name: string, labels: Record<string, string> = {}): Promise<number> {
  const { samples } = await scrape(app);
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
});

afterAll(async () => {
  for (const client of clients) client.close();
  for (const socket of sockets) socket.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

async function terminal(storeId: string): Promise<TerminalClient> {
  const { token } = await api.terminal(storeId);
  const client = new TerminalClient({ url: apps.gateway.url, token, cursors: new MemoryCursorStore() });
  clients.push(client);
  await client.connect();
  return client;
}

it('counts sockets, emits, backlog, rate limits, fan-out and commands as they happen', async () => {
  const region = await api.region('obs');
  const store = await api.store('OBS1', region);
  const live = await terminal(store);
  const items: string[] = [];
  live.onItem((item) => items.push('communication' in item ? item.communication.title : 'hidden'));
  const consoleSocket = io(`${apps.gateway.url}/console`, {
    auth: { token: tokenFor(ns, 'hq-admin') },
    transports: ['websocket'],
    // Its own connection: io() would otherwise share the terminal client's (same host).
    forceNew: true,
  });
  sockets.push(consoleSocket);
  await new Promise<void>((resolve, reject) => {
    consoleSocket.once('connect', () => resolve());
    consoleSocket.once('connect_error', reject);
  });

  await eventually(async () => {
    expect(await value('gateway', 'lastmeter_gateway_connections', { namespace: 'terminal' })).toBe(1);
    expect(await value('gateway', 'lastmeter_gateway_connections', { namespace: 'console' })).toBe(1);
  });
  expect(await value('gateway', 'lastmeter_gateway_messages_emitted_total', { event: 'hello' })).toBe(1);

  // A live publish: fanned out to the connected terminal, timed from its feed entry.
  const id = await api.publish({ title: 'Observed notice', audience: { storeIds: [store] } });
  await eventually(() => expect(items).toContain('Observed notice'));
  await eventually(async () => {
    expect(await value('gateway', 'lastmeter_gateway_messages_emitted_total', { event: 'feed' })).toBe(1);
    expect(await value('gateway', 'lastmeter_gateway_fanout_seconds_count')).toBe(1);
  });
  expect(await value('gateway', 'lastmeter_gateway_backlog_items_sent_total')).toBe(0);

  // A terminal connecting afterwards gets it as backlog (its live set), not as fan-out.
  await terminal(store);
  await eventually(async () => {
    expect(await value('gateway', 'lastmeter_gateway_backlog_items_sent_total')).toBe(1);
    expect(await value('gateway', 'lastmeter_gateway_connections', { namespace: 'terminal' })).toBe(2);
  });
  expect(await value('gateway', 'lastmeter_gateway_fanout_seconds_count')).toBe(1);

  // Past its burst (5 here), a terminal's messages are refused rate-limited, and counted.
  const answers = await Promise.all(
    Array.from(
      { length: 8 },
      () =>
        live.socket.timeout(5_000).emitWithAck('receipt', {}) as Promise<{ ok: boolean; error?: { message: string } }>,
    ),
  );
  const limited = answers.filter((answer) => answer.error?.message === RATE_LIMITED).length;
  expect(limited).toBeGreaterThan(0);
  expect(await value('gateway', 'lastmeter_gateway_rate_limited_total', { reason: 'rate-limited' })).toBe(limited);

  // The command service: the publish and its draft accepted, a second publish refused.
  await request(apps.command.url)
    .post(`/v1/communications/${id}/publish`)
    .set({ authorization: `Bearer ${api.token('hq-editor')}` })
    .send({})
    .expect((response) => expect(response.status).toBeGreaterThanOrEqual(400));
  expect(
    await value('command', 'lastmeter_commands_total', { type: 'communication.publish', outcome: 'accepted' }),
  ).toBe(1);
  expect(
    await value('command', 'lastmeter_commands_total', { type: 'communication.publish', outcome: 'refused' }),
  ).toBe(1);
  expect(await value('command', 'lastmeter_command_decision_seconds_count', { type: 'communication.draft' })).toBe(1);
  expect(await value('command', 'lastmeter_kafka_transaction_seconds_count', { contents: 'decision' })).toBeGreaterThan(
    0,
  );
  // The publish's feed entries rode in its decision (COMMAND_FEED_IN_DECISION, the
  // default): the feed writers committed no transaction of their own.
  expect(await value('command', 'lastmeter_kafka_transaction_seconds_count', { contents: 'feed' })).toBe(0);
  expect(await value('command', 'lastmeter_feed_sequencing_seconds_count')).toBeGreaterThan(0);
  expect(await value('command', 'lastmeter_feed_sequencer_lag_seconds')).toBe(0);
  // What the broker did for it: the decisions' transactions, the commands produced.
  expect(await value('command', 'lastmeter_kafka_requests_total', { api: 'EndTxn' })).toBeGreaterThan(0);
  expect(await value('command', 'lastmeter_kafka_requests_total', { api: 'Produce' })).toBeGreaterThan(0);
  expect(await value('projector', 'lastmeter_kafka_requests_total', { api: 'Fetch' })).toBeGreaterThan(0);

  // Every app sees Kafka and Redis.
  for (const app of ['command', 'projector', 'gateway'] as const) {
    expect(await value(app, 'lastmeter_dependency_up', { dependency: 'kafka' })).toBe(1);
    expect(await value(app, 'lastmeter_dependency_up', { dependency: 'redis' })).toBe(1);
  }

  live.close();
  await eventually(async () =>
    expect(await value('gateway', 'lastmeter_gateway_connections', { namespace: 'terminal' })).toBe(1),
  );
});

const RULES = join(ROOT, 'ops', 'prometheus');

it('has alert rules that promtool accepts and whose unit tests fire as written', async () => {
  const promtool = findExecutable('promtool');
  if (!promtool) throw new Error('promtool not found: install it with `apt-get install prometheus`');
  const checked = await run(promtool, ['check', 'rules', join(RULES, 'lastmeter.rules.yml')]);
  expect(checked.stdout).toMatch(/SUCCESS: \d+ rules found/);
  const tested = await run(promtool, ['test', 'rules', 'lastmeter.rules.test.yml'], { cwd: RULES });
  expect(tested.stdout).toMatch(/SUCCESS/);
  const rules = parseYaml(readFileSync(join(RULES, 'lastmeter.rules.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ alert: string }> }>;
  };
  expect(rules.groups.flatMap((g) => g.rules.map((r) => r.alert))).toEqual(
    expect.arrayContaining([
      'LastMeterProjectorLagging',
      'LastMeterDeadLetters',
      'LastMeterTerminalDisconnectStorm',
      'LastMeterHttp5xx',
      'LastMeterKafkaUnavailable',
    ]),
  );
});

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool']);
const PROMQL_WORDS_OPERATORS = new Set(['and', 'or', 'unless']);

/** The metric names a PromQL expression reads (not its functions, labels or keywords). */
function metricsOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '');
  return [...bare.matchAll(/([a-zA-Z_:][\w:]*)\s*(\()?/g)]
    .filter(([, name, call]) => !call && !PROMQL_WORDS.has(name!) && !PROMQL_WORDS_OPERATORS.has(name!))
    .map(([, name]) => name!);
}

it('queries only metrics that the running apps expose, in the dashboard and in the alert rules', async () => {
  const exposed = new Set<string>();
  for (const app of ['command', 'projector', 'gateway'] as const) {
    for (const name of (await scrape(app)).declared) exposed.add(name);
  }
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'ops', 'grafana', 'lastmeter.json'), 'utf8')) as {
    panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  };
  const rules = parseYaml(readFileSync(join(RULES, 'lastmeter.rules.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
  };
  const queries = [
    ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => ({ where: panel.title, expr: t.expr }))),
    ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: r.alert, expr: r.expr }))),
  ];
  expect(queries.length).toBeGreaterThan(25);
  const unknown = queries.flatMap(({ where, expr }) =>
    metricsOf(expr)
      .map((name) => name.replace(/_(bucket|sum|count)$/, ''))
      .filter((name) => !exposed.has(name))
      .map((name) => `${where}: ${name}`),
  );
  expect(unknown).toEqual([]);
  // The extraction itself: a query of a name no app has is caught.
  expect(metricsOf('sum by (le) (rate(lastmeter_nothing_bucket{a="b"}[5m]))')).toEqual(['lastmeter_nothing_bucket']);
});
