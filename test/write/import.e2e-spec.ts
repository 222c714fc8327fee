import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import {
  IMPORT_MAX_BYTES,
  topicNames,
  type CredentialRecord,
  type DomainEvent,
  type EventEnvelope,
  type FeedPage,
  type ImportSummary,
} from '@lastmeter/contracts';
import { startApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { runCli } from '../support/cli';
import { requireEnv, testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { expectNothingWritten, writeSnapshot } from '../support/no-writes';
import { settled } from '../support/read-side';
import { bearer, Publisher, tokenFor } from '../support/write-api';

/**
 * Bulk directory import (POST /v1/imports, `lastmeter import`) against real Kafka, Redis
 * and app processes: a row-by-row report in which refused rows write nothing, natural keys
 * that make a second run change nothing, enrollment codes that enroll, and 5,000 imported
 * stores that each get exactly one feed entry for a publish to all.
 */
const ns = testNamespace('import');
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: Publisher;

const admin = () => tokenFor(ns, 'hq-admin');
const HEADER = 'kind,code,name,region,tags,locale,timezone,store,roles';
const csv = (...rows: string[]) => `${[HEADER, ...rows].join('\n')}\n`;

/** Posts an import as an hq-admin, or with `token` (null: without one). */
function post(body: string, type = 'text/csv', token: string | null = admin(), accept = 'application/json') {
  const call = request(apps.command.url).post('/v1/imports').set('content-type', type).set('accept', accept);
  if (token !== null) call.set(bearer(token));
  return call.send(body);
}

async function events(): Promise<EventEnvelope[]> {
  return (await readTopic(ns.env.KAFKA_BROKERS!, topics.events)).map((m) => m.value);
}

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
});

afterAll(async () => {
  await Promise.all(Object.values(apps ?? {}).map((app) => app.stop()));
  await cleanupNamespace(ns);
});

/** Lines:  1 header, 2 north, 3 lyon-01, 4 unknown region, 5 duplicate, 6 bad timezone, 7 oversized, 8 till, 9 unknown store, 10 region below, 11 late */
const MIXED = csv(
  'region,north,North,,,,,,',
  'store,lyon-01,Lyon 01,north,flagship;mall,fr-FR,Europe/Paris,,',
  'store,ghost-01,Ghost,nowhere,,,,,',
  'store,LYON-01,Lyon again,north,,,,,',
  'store,mars-01,Mars,north,,,Mars/Olympus,,',
  `store,long-01,${'x'.repeat(121)},north,,,,,`,
  'terminal,,Till 1,,,,,lyon-01,cashier;sales',
  'terminal,,Till 1,,,,,ghost-01,cashier',
  'store,late-01,Late,south,,,,,',
  'region,south,South,,,,,,',
);
const BAD_CODES = ['ghost-01', 'mars-01', 'long-01', 'late-01'];

describe('a file with bad rows', () => {
  let first: ImportSummary;

  it('gets a row-by-row report: each refused row with its line and the fields at fault', async () => {
    const response = await post(MIXED).expect(200);
    expect(response.headers['cache-control']).toBe('no-store');
    first = response.body as ImportSummary;
    expect(first).toMatchObject({
      rows: 10,
      created: { regions: 2, stores: 1, terminals: 1, staff: 0 },
      updated: { regions: 0, stores: 0, terminals: 0, staff: 0 },
      unchanged: { regions: 0, stores: 0, terminals: 0, staff: 0 },
      pending: [],
    });
    expect(first.refused.map(({ line, kind, key, fields }) => [line, kind, key, Object.keys(fields ?? {})])).toEqual([
      [4, 'store', 'ghost-01', ['region']],
      [5, 'store', 'LYON-01', ['code']],
      [6, 'store', 'mars-01', ['timezone']],
      [7, 'store', 'long-01', ['name']],
      [9, 'terminal', 'ghost-01/Till 1', ['store']],
      [10, 'store', 'late-01', ['region']],
    ]);
    expect(first.refused[0]!.fields!.region).toEqual(['unknown region nowhere']);
    expect(first.refused[1]!.fields!.code).toEqual(['duplicate: store LYON-01 is already on line 3']);
    expect(first.refused[2]!.fields!.timezone).toEqual(['timezone must be a valid IANA time-zone']);
    expect(first.refused[3]!.fields!.name).toEqual(['name must be shorter than or equal to 120 characters']);
    expect(first.refused[5]!.fields!.region[0]).toMatch(/south comes later in the file \(line 11\)/);
    expect(first.codes).toEqual([
      expect.objectContaining({ line: 8, storeCode: 'lyon-01', terminalName: 'Till 1', status: 'created' }),
    ]);
  });

  it('writes nothing for the refused rows: no event, no credential', async () => {
    const all = await events();
    const codes = all.map((e) => (e.data as { code?: string }).code).filter(Boolean);
    expect(codes.sort()).toEqual(['lyon-01', 'north', 'south']);
    for (const code of BAD_CODES) expect(JSON.stringify(all)).not.toContain(code);
    const lyon = all.find((e) => e.type === 'store.registered')!;
    expect(lyon.data).toEqual({
      code: 'lyon-01',
      name: 'Lyon 01',
      regionId: all.find((e) => e.type === 'region.defined' && (e.data as { code: string }).code === 'north')!
        .aggregateId,
      tags: ['flagship', 'mall'],
      locale: 'fr-FR',
      timezone: 'Europe/Paris',
    });
    const terminals = all.filter((e) => e.type === 'terminal.registered');
    expect(terminals.map((e) => e.data)).toEqual([
      expect.objectContaining({ storeId: lyon.aggregateId, name: 'Till 1', roles: ['cashier', 'sales'] }),
    ]);
    const credentials = await readTopic<CredentialRecord>(ns.env.KAFKA_BROKERS!, topics.credentials);
    expect(credentials.map((m) => m.value?.kind)).toEqual(['enrollment-code']);
  });

  it('changes nothing when the same file runs again: same report, every imported row unchanged', async () => {
    await settled(ns, apps.projector);
    const before = await writeSnapshot(ns);
    const again = (await post(MIXED).expect(200)).body as ImportSummary;
    expect(again).toEqual({
      ...first,
      created: { regions: 0, stores: 0, terminals: 0, staff: 0 },
      unchanged: { regions: 2, stores: 1, terminals: 1, staff: 0 },
      codes: [],
    });
    await expectNothingWritten(ns, before);
  });

  it('a file of nothing but bad rows writes nothing at all', async () => {
    const before = await writeSnapshot(ns);
    const response = await post(
      csv(
        'store,ghost-02,Ghost,nowhere,,,,,',
        'store,mars-02,Mars,north,,,Mars/Olympus,,',
        `region,long,${'y'.repeat(500)},,,,,,`,
        'terminal,,Till 9,,,,,ghost-02,',
        'warehouse,w-1,W,,,,,,',
        'region,r-x,R,,,,Europe/Paris,,',
      ),
    ).expect(200);
    expect((response.body as ImportSummary).refused.map((r) => [r.line, Object.keys(r.fields ?? {})])).toEqual([
      [2, ['region']],
      [3, ['timezone']],
      [4, ['name']],
      [5, ['store']],
      [6, ['kind']],
      [7, ['timezone']],
    ]);
    await expectNothingWritten(ns, before);
  });
});

it('updates the fields of an existing store that the file changes, and only those', async () => {
  const file = csv('store,lyon-01,Lyon Part-Dieu,north,flagship;mall,fr-FR,,,');
  const before = new Set((await events()).map((e) => e.id));
  expect((await post(file).expect(200)).body).toMatchObject({
    created: { stores: 0 },
    updated: { stores: 1 },
    refused: [],
  });
  const updates = (await events()).filter((e) => !before.has(e.id));
  expect(updates.map((e) => [e.type, e.data])).toEqual([['store.updated', { name: 'Lyon Part-Dieu' }]]);
  expect((await post(file).expect(200)).body).toMatchObject({ updated: { stores: 0 }, unchanged: { stores: 1 } });
});

it('answers the enrollment codes as CSV with Accept: text/csv, and the counts in headers', async () => {
  const response = await post(
    csv('terminal,,Back office,,,,,lyon-01,', 'terminal,,Till 1,,,,,lyon-01,cashier;sales'),
    'text/csv',
    admin(),
    'text/csv',
  ).expect(200);
  expect(response.headers['content-type']).toMatch(/^text\/csv/);
  expect(response.headers).toMatchObject({
    'x-import-created': '1',
    'x-import-unchanged': '1',
    'x-import-refused': '0',
  });
  const rows = parse(response.text, { columns: true }) as Array<Record<string, string>>;
  expect(rows).toEqual([
    {
      store_code: 'lyon-01',
      terminal_name: 'Back office',
      enrollment_code: expect.stringMatching(/^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}$/),
      expires_at: expect.any(String),
      terminal_id: expect.any(String),
      status: 'created',
      line: '2',
    },
  ]);
});

it('takes a terminal registered one by one with the same store and name as that terminal', async () => {
  const lyon = (await events()).find(
    (e) => e.type === 'store.registered' && (e.data as { code: string }).code === 'lyon-01',
  )!;
  await request(apps.command.url)
    .post('/v1/terminals')
    .set(bearer(admin()))
    .send({ storeId: lyon.aggregateId, name: 'Console till', roles: ['sales'] })
    .expect(201);
  await settled(ns, apps.projector);
  const before = await writeSnapshot(ns);
  const summary = (await post(csv('terminal,,console TILL,,,,,LYON-01,sales')).expect(200)).body as ImportSummary;
  expect(summary).toMatchObject({ unchanged: { terminals: 1 }, created: { terminals: 0 }, refused: [], codes: [] });
  const refused = (await post(csv('terminal,,Console till,,,,,lyon-01,stock')).expect(200)).body as ImportSummary;
  expect(refused.refused).toEqual([
    expect.objectContaining({
      line: 2,
      kind: 'terminal',
      fields: { roles: [expect.stringMatching(/exists with roles \[sales\]/)] },
    }),
  ]);
  await expectNothingWritten(ns, before);
});

it('lastmeter import shows progress, writes the codes CSV, and a code from it enrolls the terminal', async () => {
  const dir = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'import-'));
  const file = join(dir, 'directory.ndjson');
  writeFileSync(
    file,
    [
      { kind: 'region', code: 'west', name: 'West' },
      { kind: 'store', code: 'brest-01', name: 'Brest', region: 'west', timezone: 'Europe/Paris' },
      { kind: 'terminal', store: 'brest-01', name: 'Till 1', roles: ['cashier'] },
      { kind: 'terminal', store: 'brest-01', name: 'Stock room', roles: ['stock'] },
    ]
      .map((row) => JSON.stringify(row))
      .join('\n'),
  );
  const codesFile = join(dir, 'codes.csv');
  const env = { ...ns.env, LASTMETER_TOKEN: admin(), LASTMETER_HOME: dir };
  const result = await runCli(['import', file, '--url', apps.command.url, '--codes', codesFile], env);
  expect(result.stderr).toMatch(/\[#+\] 100\.0%\s+4 \/ 4 rows/);
  expect(result.stderr).toMatch(/created\s+1 region\(s\), 1 store\(s\), 2 terminal\(s\)/);
  expect(result.stdout).toBe('');
  expect(result.code).toBe(0);
  expect(statSync(codesFile).mode & 0o777).toBe(0o600);
  const codes = parse(readFileSync(codesFile, 'utf8'), { columns: true }) as Array<Record<string, string>>;
  expect(codes.map((c) => [c.store_code, c.terminal_name, c.status])).toEqual([
    ['brest-01', 'Till 1', 'created'],
    ['brest-01', 'Stock room', 'created'],
  ]);

  const enrolled = await request(apps.command.url)
    .post('/v1/terminals/enroll')
    .send({ code: codes[0]!.enrollment_code })
    .expect(201);
  expect(enrolled.body).toMatchObject({ terminalId: codes[0]!.terminal_id, storeId: expect.any(String) });
  const terminals = await request(apps.gateway.url)
    .get(`/v1/terminals?storeId=${enrolled.body.storeId}`)
    .set(bearer(admin()));
  expect(terminals.status).toBe(200);

  // A second run changes nothing (and issues no code); refused rows make the exit code 2.
  const again = await runCli(['import', file, '--url', apps.command.url], env);
  expect(again.stderr).toMatch(/unchanged 1 region\(s\), 1 store\(s\), 2 terminal\(s\)/);
  expect(again.stdout).toBe('');
  expect(again.code).toBe(0);
  writeFileSync(file, `${readFileSync(file, 'utf8')}\n${JSON.stringify({ kind: 'store', code: 'x', region: 'west' })}`);
  const refused = await runCli(['import', file, '--url', apps.command.url], env);
  expect(refused.stderr).toMatch(/refused\s+1 row\(s\)[\s\S]*line 5 store x: name: /);
  expect(refused.code).toBe(2);

  // Codes are secrets: no app logged one.
  const output = Object.values(apps)
    .flatMap((app) => app.output)
    .join('\n');
  for (const { enrollment_code: code } of codes) expect(output).not.toContain(code);
});

describe('refusals of the whole request write nothing', () => {
  const good = () => csv('region,east,East,,,,,,');
  beforeAll(() => settled(ns, apps.projector));
  it.each([
    ['no token', () => good(), 'text/csv', () => null, 401],
    ['a non-admin token', () => good(), 'text/csv', () => tokenFor(ns, 'hq-editor'), 403],
    ['a terminal token', () => good(), 'text/csv', () => tokenFor(ns, 'terminal', { storeId: 'x' }), 403],
    ['a JSON body', () => JSON.stringify([{ kind: 'region' }]), 'application/json', admin, 415],
    ['an unknown column', () => 'kind,code,colour\nregion,east,red\n', 'text/csv', admin, 400],
    ['a body over 16 MiB', () => good() + 'z'.repeat(IMPORT_MAX_BYTES), 'text/csv', admin, 413],
  ])('%s', async (_name, body, type, token, status) => {
    const before = await writeSnapshot(ns);
    const response = await post(body(), type, token());
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({ statusCode: status, message: expect.any(String) });
    if (status === 413) expect(response.body.message).toBe('request body exceeds the 16 MiB limit');
    await expectNothingWritten(ns, before);
  });
});

it('after importing 5,000 stores and publishing to all of them, every feed has exactly one new entry', async () => {
  const STORES = 5_000;
  const file = [
    JSON.stringify({ kind: 'region', code: 'mass', name: 'Mass' }),
    ...Array.from({ length: STORES }, (_, i) =>
      JSON.stringify({ kind: 'store', code: `mass-${i}`, name: `Mass ${i}`, region: 'mass', tags: ['mass'] }),
    ),
  ].join('\n');
  const streamed = await post(file, 'application/x-ndjson', admin(), 'application/x-ndjson').expect(200);
  const lines = streamed.text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string });
  expect(lines.some((line) => line.type === 'progress')).toBe(true);
  const summary = (lines.at(-1) as { type: 'summary'; summary: ImportSummary }).summary;
  expect(summary).toMatchObject({
    rows: STORES + 1,
    created: { regions: 1, stores: STORES },
    refused: [],
    pending: [],
  });

  const storeIds = new Map<string, string>();
  for (const e of await events()) {
    const code = (e.data as { code?: string }).code;
    if (e.type === 'store.registered' && code?.startsWith('mass-')) storeIds.set(e.aggregateId, code);
  }
  expect(storeIds.size).toBe(STORES);
  await settled(ns, apps.projector);

  const notice = await api.publish({ title: 'To every store', audience: { all: true } });
  await settled(ns, apps.projector);

  // In the log: one feed entry per imported store, at feedSeq 1.
  const entries = (await readTopic<DomainEvent<'feed.appended'>>(ns.env.KAFKA_BROKERS!, topics.feed))
    .map((m) => m.value.data)
    .filter((entry) => storeIds.has(entry.storeId));
  expect(entries).toHaveLength(STORES);
  expect(new Set(entries.map((entry) => entry.storeId)).size).toBe(STORES);
  expect(entries.every((e) => e.feedSeq === 1 && e.change === 'published' && e.communication.id === notice)).toBe(true);

  // In the read model, through the gateway: each feed's head is 1 and holds that one entry.
  const analyst = tokenFor(ns, 'analyst');
  const ids = [...storeIds.keys()];
  const wrong: string[] = [];
  await Promise.all(
    Array.from({ length: 20 }, async (_, worker) => {
      for (let i = worker; i < ids.length; i += 20) {
        const feed = await eventually(async () => {
          const response = await request(apps.gateway.url).get(`/v1/stores/${ids[i]}/feed`).set(bearer(analyst));
          expect(response.status).toBe(200);
          return response.body as FeedPage;
        });
        const only = feed.items.length === 1 ? (feed.items[0] as { communication?: { id: string } }) : undefined;
        if (feed.headSeq !== 1 || only?.communication?.id !== notice)
          wrong.push(`${storeIds.get(ids[i]!)}: ${JSON.stringify(feed)}`);
      }
    }),
  );
  expect(wrong).toEqual([]);
});
