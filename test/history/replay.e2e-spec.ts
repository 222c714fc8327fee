import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import fixture from '../../libs/contracts/fixtures/communication.drafted.v1.json';
import { storeActivityEvent, topicNames, upcast, type DomainEvent, type EventEnvelope } from '@lastmeter/contracts';
import { ACKS_ALL, createKafkaClient, createProducer, ensureTopicsAt } from '@lastmeter/kafka';
import { startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { requireEnv, testNamespace } from '../support/env';
import { runCli } from '../support/cli';
import { bearer, tokenFor } from '../support/write-api';

/** GET /v1/events against a brute-force filter of everything the test wrote to the log. */
const ns = testNamespace('replay');
const topics = topicNames(ns.topicPrefix);
let gateway: RunningApp;
/** What the test wrote, as it was handed out (upcast), by event id. */
const written = new Map<string, DomainEvent>();
/**
 * The test's own account of each event it wrote, in the order written: its type, the
 * instant it chose, the aggregate and the store it made the event about. The expected
 * answers are computed from this, not from the production filter (`matches`, `storeOf`).
 */
const wrote: Array<{ id: string; type: string; at: number; aggregateId: string; storeId?: string }> = [];

/** A replay filter as the test asks it over HTTP. */
interface Filter {
  from?: Date;
  to?: Date;
  types?: string[];
  aggregateId?: string;
  storeId?: string;
}
const T0 = Date.parse('2026-11-01T08:00:00.000Z');
const stores = Array.from({ length: 6 }, () => randomUUID());
const communications = Array.from({ length: 12 }, () => randomUUID());

/** A small deterministic PRNG, so a failing filter can be reproduced from the seed. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function domainEvent(
  type: string,
  aggregateType: string,
  aggregateId: string,
  version: number,
  at: number,
  data: object,
) {
  return {
    id: randomUUID(),
    type,
    schemaVersion: 1,
    aggregateType,
    aggregateId,
    aggregateVersion: version,
    occurredAt: new Date(at).toISOString(),
    actor: { id: 'editor', role: 'hq-editor' },
    commandId: randomUUID(),
    correlationId: randomUUID(),
    causationId: randomUUID(),
    data,
  } as unknown as DomainEvent;
}

beforeAll(async () => {
  const brokers = ns.env.KAFKA_BROKERS!.split(',');
  await ensureTopicsAt(brokers, topics, { partitions: 3, replicationFactor: 1 });
  const next = random(7);
  let at = T0;
  const versions = new Map<string, number>();
  const v = (id: string) => {
    versions.set(id, (versions.get(id) ?? 0) + 1);
    return versions.get(id)!;
  };
  const events: Array<{ topic: string; key: string; event: EventEnvelope }> = [];
  const write = (topic: string, key: string, event: EventEnvelope, storeId?: string) => {
    events.push({ topic, key, event });
    wrote.push({ id: event.id, type: event.type, at: Date.parse(event.occurredAt), aggregateId: key, storeId });
  };
  for (const storeId of stores) {
    at += 1_000;
    const data = { code: storeId.slice(0, 4), name: 'S', regionId: 'r', tags: [], locale: 'fr', timezone: 'UTC' };
    write(topics.events, storeId, domainEvent('store.registered', 'store', storeId, v(storeId), at, data), storeId);
  }
  // A v1 event from an older release: replay hands it out upcast.
  const old = {
    ...fixture,
    id: randomUUID(),
    aggregateId: communications[0],
    occurredAt: new Date((at += 1_000)).toISOString(),
  };
  versions.set(communications[0], 1);
  write(topics.events, old.aggregateId, old as EventEnvelope);
  for (let i = 0; i < 300; i++) {
    at += Math.floor(next() * 5_000);
    const communicationId = communications[Math.floor(next() * communications.length)];
    const storeId = stores[Math.floor(next() * stores.length)];
    if (next() < 0.4) {
      const version = v(communicationId);
      const event =
        version === 1
          ? domainEvent('communication.drafted', 'communication', communicationId, 1, at, {
              kind: 'notice',
              title: `Notice ${i}`,
              body: 'b',
              priority: 'normal',
              audience: { all: true },
              revision: 1,
            })
          : domainEvent('communication.revised', 'communication', communicationId, version, at, {
              revision: version,
              changes: { title: `Notice ${i}` },
            });
      write(topics.events, communicationId, event);
    } else {
      const kind = (['receipt.delivered', 'receipt.read', 'receipt.acknowledged'] as const)[Math.floor(next() * 3)];
      const id = randomUUID();
      const event = storeActivityEvent(
        kind,
        id,
        { id: 't', role: 'terminal', storeId },
        { storeId, terminalId: `t${i % 4}`, communicationId, revision: 1 },
        new Date(at).toISOString(),
      );
      // Keyed by store on the topic; the fact's own id is its aggregate id.
      events.push({ topic: topics.storeEvents, key: storeId, event });
      wrote.push({ id, type: kind, at, aggregateId: id, storeId });
    }
  }
  const producer = createProducer(createKafkaClient({ brokers, clientId: 'replay-test' }));
  await producer.connect();
  for (const { topic, key, event } of events) {
    await producer.send({
      topic,
      acks: ACKS_ALL,
      // The record timestamp is what offsets-for-times seeks by.
      messages: [{ key, value: JSON.stringify(event), timestamp: String(Date.parse(event.occurredAt)) }],
    });
    written.set(event.id, upcast(event as DomainEvent));
  }
  await producer.disconnect();
  gateway = await startApp('gateway', ns.env);
});

afterAll(async () => {
  await gateway?.stop();
  await cleanupNamespace(ns);
});

/** The reference: a plain scan of what the test wrote, each condition as the docs state it. */
function expectedFor(filter: Filter): DomainEvent[] {
  return wrote
    .filter(
      (e) =>
        (!filter.from || e.at >= filter.from.getTime()) &&
        (!filter.to || e.at <= filter.to.getTime()) &&
        (!filter.types || filter.types.includes(e.type)) &&
        (!filter.aggregateId || e.aggregateId === filter.aggregateId) &&
        (!filter.storeId || e.storeId === filter.storeId),
    )
    .map((e) => written.get(e.id)!);
}

function query(filter: Filter): Record<string, string> {
  return {
    ...(filter.from ? { from: filter.from.toISOString() } : {}),
    ...(filter.to ? { to: filter.to.toISOString() } : {}),
    ...(filter.types ? { type: filter.types.join(',') } : {}),
    ...(filter.aggregateId ? { aggregateId: filter.aggregateId } : {}),
    ...(filter.storeId ? { storeId: filter.storeId } : {}),
  };
}

async function replay(filter: Filter, role: 'analyst' | 'hq-admin' = 'analyst'): Promise<DomainEvent[]> {
  const response = await request(gateway.url)
    .get('/v1/events')
    .query(query(filter))
    .set(bearer(tokenFor(ns, role)));
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toMatch(/application\/x-ndjson/);
  return response.text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DomainEvent);
}

it('returns exactly what a brute-force filter of the log returns, for randomized filters', async () => {
  const next = random(42);
  const span = wrote.at(-1)!.at - T0;
  const types = [
    'communication.drafted',
    'communication.revised',
    'receipt.read',
    'receipt.delivered',
    'store.registered',
  ];
  let total = 0;
  for (let round = 0; round < 25; round++) {
    const from = next() < 0.6 ? new Date(T0 + Math.floor(next() * span)) : undefined;
    const to = next() < 0.6 ? new Date((from?.getTime() ?? T0) + Math.floor(next() * span)) : undefined;
    const filter: Filter = {
      from,
      to,
      types: next() < 0.4 ? types.filter(() => next() < 0.5) : undefined,
      aggregateId: next() < 0.2 ? communications[Math.floor(next() * communications.length)] : undefined,
      storeId: next() < 0.2 ? stores[Math.floor(next() * stores.length)] : undefined,
    };
    if (filter.types?.length === 0) filter.types = undefined;
    const expected = expectedFor(filter);
    const actual = await replay(filter, round % 2 ? 'analyst' : 'hq-admin');
    total += expected.length;
    const byId = (events: DomainEvent[]) => [...events].sort((a, b) => a.id.localeCompare(b.id));
    expect({ round, events: byId(actual) }).toEqual({ round, events: byId(expected) });
    // Ordered by occurredAt across partitions (each partition was written in time order).
    const times = actual.map((event) => event.occurredAt);
    expect(times).toEqual([...times].sort());
  }
  // The filters were not all empty-handed.
  expect(total).toBeGreaterThan(500);
});

it('upcasts old schema versions on the way out', async () => {
  const [drafted] = await replay({ aggregateId: communications[0], types: ['communication.drafted'] });
  expect(drafted).toMatchObject({ schemaVersion: 2, data: { body: fixture.data.text, audience: expect.any(Object) } });
});

it('is for analysts and hq-admin only, and refuses bad filters field by field', async () => {
  for (const role of ['store-manager', 'terminal', 'hq-editor', 'agency'] as const) {
    const token = tokenFor(ns, role, { storeId: stores[0] });
    expect((await request(gateway.url).get('/v1/events').set(bearer(token))).status).toBe(403);
  }
  expect((await request(gateway.url).get('/v1/events')).status).toBe(401);
  const bad = await request(gateway.url)
    .get('/v1/events')
    .query({ from: 'yesterday', type: 'receipt.read,nope', storeId: 'x', extra: '1' })
    .set(bearer(tokenFor(ns, 'analyst')));
  expect(bad.status).toBe(400);
  expect(Object.keys(bad.body.fields).sort()).toEqual(['extra', 'from', 'storeId', 'type']);
  const backwards = await request(gateway.url)
    .get('/v1/events')
    .query({ from: '2026-11-02T00:00:00Z', to: '2026-11-01T00:00:00Z' })
    .set(bearer(tokenFor(ns, 'analyst')));
  expect(backwards.status).toBe(400);
  expect(backwards.body.fields).toEqual({ to: ['must not be before from'] });
});

it('lastmeter replay writes the same events as NDJSON or CSV, with progress on stderr', async () => {
  // The read receipts the test wrote for stores[1], picked by hand from its own record.
  const expected = wrote.filter((e) => e.type === 'receipt.read' && e.storeId === stores[1]);
  expect(expected.length).toBeGreaterThan(3);
  const env = { ...ns.env, LASTMETER_HOME: undefined };
  const ndjson = await runCli(['replay', '--type', 'receipt.read', '--store-id', stores[1]], env);
  expect(ndjson.code).toBe(0);
  expect(
    ndjson.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id)
      .sort(),
  ).toEqual(expected.map((e) => e.id).sort());
  expect(ndjson.stderr).toMatch(/100\.0%\s+\d+ events/);

  const file = join(requireEnv('LASTMETER_TEST_ROOT'), `replay-${randomUUID()}.csv`);
  const csv = await runCli(
    ['replay', '--type', 'receipt.read', '--store-id', stores[1], '--format', 'csv', '-o', file],
    env,
  );
  expect(csv.code).toBe(0);
  const rows = parse(readFileSync(file, 'utf8'), { columns: true }) as Array<Record<string, string>>;
  expect(rows.map((row) => row.id).sort()).toEqual(expected.map((e) => e.id).sort());
  expect(rows[0]).toMatchObject({ type: 'receipt.read', storeId: stores[1], aggregateType: 'store-activity' });
  expect(JSON.parse(rows[0].data)).toMatchObject({ storeId: stores[1] });

  const bad = await runCli(['replay', '--from', 'yesterday'], env);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('from: from must be a valid ISO 8601 date string');
});

/**
 * "Now" includes what was answered a moment ago: a commit returns (and the app answers
 * 2xx) before the broker writes the transaction's markers, so the last stable offset can
 * still be short of it when the replay is asked. A transaction open when the replay is
 * asked is waited for (here, held open for a second) and what it committed is in the answer.
 */
it('includes what a transaction open when asked commits (a write answered just before, markers still unwritten)', async () => {
  const brokers = ns.env.KAFKA_BROKERS!.split(',');
  const producer = createProducer(createKafkaClient({ brokers, clientId: 'replay-open-transaction' }), {
    transactionalId: `${ns.topicPrefix}replay-open-transaction`,
  });
  await producer.connect();
  try {
    const storeId = randomUUID();
    const data = { code: 'OPEN', name: 'S', regionId: 'r', tags: [], locale: 'fr', timezone: 'UTC' };
    const event = domainEvent('store.registered', 'store', storeId, 1, Date.now(), data);
    const txn = await producer.transaction();
    await txn.send({ topic: topics.events, messages: [{ key: storeId, value: JSON.stringify(event) }] });
    wrote.push({ id: event.id, type: event.type, at: Date.parse(event.occurredAt), aggregateId: storeId, storeId });
    written.set(event.id, upcast(event));
    const answer = replay({ aggregateId: storeId });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await txn.commit();
    expect((await answer).map((e) => e.id)).toEqual([event.id]);
  } finally {
    await producer.disconnect();
  }
});
