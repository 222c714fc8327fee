import request from 'supertest';
import { topicNames, type CredentialRecord, type ImportSummary, type StaffView } from '@lastmeter/contracts';
import { createKafkaClient, readWholeTopic } from '@lastmeter/kafka';
import { createRedisClient } from '@lastmeter/redis';
import { restartOnSamePort, startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { runCli } from '../support/cli';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { expectNothingWritten, writeSnapshot } from '../support/no-writes';
import { bearer, WriteApi } from '../support/write-api';

/**
 * Issue 21, items 1 and 6: a store's staff roster, managed by head office and by the
 * store's own manager, and erasure in an immutable log. A name is sealed with the
 * person's own key before any command is written; deleting the key (`DELETE
 * /v1/staff/:id/personal-data`, `lastmeter people forget`) erases the person from every
 * read path, through projector restarts, a Redis that lost the keys and a rebuild.
 */
const ns = testNamespace('staff');
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: WriteApi;
let storeId: string;
let otherStoreId: string;

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new WriteApi(apps.command.url, ns);
  const regionId = await api.region('people');
  storeId = await api.store('st-01', regionId);
  otherStoreId = await api.store('st-02', regionId);
});

afterAll(async () => {
  await stopApps(apps);
  await cleanupNamespace(ns);
});

const admin = () => bearer(api.token('hq-admin'));
const manager = (store = storeId) => bearer(api.token('store-manager', { sub: `manager-of-${store}`, storeId: store }));
const tablet = () => bearer(api.token('terminal', { storeId }));

const roster = async (auth = admin(), all = false, store = storeId): Promise<StaffView[]> =>
  (
    await request(apps.gateway.url)
      .get(`/v1/stores/${store}/staff${all ? '?all=true' : ''}`)
      .set(auth)
      .expect(200)
  ).body.items;

const add = (body: object, auth = admin(), store = storeId) =>
  request(apps.command.url).post(`/v1/stores/${store}/staff`).set(auth).send(body);

/** Every record of every topic, as raw text: where a name in clear would show. */
async function everythingInKafka(): Promise<string> {
  const kafka = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test-staff' });
  const texts: string[] = [];
  for (const topic of Object.values(topics)) {
    for (const m of await readWholeTopic(kafka, topic)) texts.push(`${m.key?.toString()} ${m.value?.toString()}`);
  }
  return texts.join('\n');
}

async function personKeyRecords(): Promise<Map<string, string | null>> {
  const kafka = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test-staff' });
  const last = new Map<string, string | null>();
  for (const m of await readWholeTopic(kafka, topics.personKeys))
    last.set(m.key!.toString(), m.value?.toString() ?? null);
  return last;
}

it('head office and the store manager build the roster; names never reach Kafka in clear, the PIN only as a hash', async () => {
  const camille = (await add({ name: 'Camille Aubertin', roles: ['cashier', 'sales'], pin: '0427' }).expect(201)).body;
  expect(camille).toEqual({ id: expect.any(String), version: 1, eventIds: [expect.any(String)] });
  await add({ name: 'Bastien Lemaire', roles: ['stock'], pin: '918273' }).expect(201);
  // The store's own manager manages their store's roster.
  await add({ name: 'Aïcha Benali', roles: ['store-manager'], pin: '5555' }, manager()).expect(201);

  const expected = [
    { name: 'Aïcha Benali', roles: ['store-manager'] },
    { name: 'Bastien Lemaire', roles: ['stock'] },
    { name: 'Camille Aubertin', roles: ['cashier', 'sales'] },
  ];
  const items = await eventually(async () => {
    const shown = await roster();
    expect(shown.map(({ name, roles }) => ({ name, roles }))).toEqual(expected);
    return shown;
  });
  expect(items.find((p) => p.name === 'Camille Aubertin')).toEqual({
    id: camille.id,
    storeId,
    name: 'Camille Aubertin',
    roles: ['cashier', 'sales'],
    status: 'active',
    version: 1,
    locked: false,
  });
  // The store's manager and its tablets (the staff picker) read it too.
  expect((await roster(manager())).map((p) => p.name)).toEqual(expected.map((p) => p.name));
  expect((await roster(tablet())).map((p) => p.name)).toEqual(expected.map((p) => p.name));

  // Sealed in every topic: events, commands, the lot.
  const kafka = await everythingInKafka();
  for (const { name } of expected) for (const part of name.split(' ')) expect(kafka).not.toContain(part);
  expect(kafka).not.toMatch(/0427|918273/);
  const added = (await readTopic(ns.env.KAFKA_BROKERS!, topics.events)).find(
    (m) => m.value.type === 'staff.added' && m.value.aggregateId === camille.id,
  );
  expect(added?.value.data).toEqual({
    storeId,
    name: { enc: 'A256GCM', iv: expect.any(String), data: expect.any(String) },
    roles: ['cashier', 'sales'],
  });
  const pins = await readTopic<CredentialRecord>(ns.env.KAFKA_BROKERS!, topics.credentials);
  expect(pins.find((m) => m.value?.kind === 'staff-pin' && m.value.staffId === camille.id)?.value).toMatchObject({
    pinHash: expect.stringMatching(/^hmac-sha256\$[\w-]{43}$/),
  });
  expect(JSON.parse((await personKeyRecords()).get(camille.id)!)).toEqual({
    key: expect.stringMatching(/^[\w-]{43}$/),
    createdAt: expect.any(String),
  });
});

it('edits and removes: a rename, new roles and a new PIN; a removed person is listed only with all=true', async () => {
  const { id } = (await add({ name: 'Dora Marchetti', roles: ['phone'], pin: '1234' }).expect(201)).body;
  await request(apps.command.url)
    .patch(`/v1/stores/${storeId}/staff/${id}`)
    .set(manager())
    .set('If-Match', '1')
    .send({ name: 'Dora Marchetti-Rossi', roles: ['phone', 'sales'], pin: '4321' })
    .expect(200);
  await eventually(async () =>
    expect((await roster()).find((p) => p.id === id)).toMatchObject({
      name: 'Dora Marchetti-Rossi',
      roles: ['phone', 'sales'],
      version: 2,
    }),
  );
  // A stale If-Match is a conflict.
  await request(apps.command.url)
    .patch(`/v1/stores/${storeId}/staff/${id}`)
    .set(admin())
    .set('If-Match', '1')
    .send({ roles: ['stock'] })
    .expect(409);

  await request(apps.command.url)
    .delete(`/v1/stores/${storeId}/staff/${id}`)
    .set(manager())
    .send({ reason: 'moved to another store' })
    .expect(200);
  await eventually(async () => expect((await roster()).some((p) => p.id === id)).toBe(false));
  expect((await roster(admin(), true)).find((p) => p.id === id)).toMatchObject({
    name: 'Dora Marchetti-Rossi',
    status: 'removed',
  });
  // A removed person cannot be edited or removed again.
  await request(apps.command.url)
    .patch(`/v1/stores/${storeId}/staff/${id}`)
    .set(admin())
    .send({ roles: ['stock'] })
    .expect(422);
});

it('bad input, another store and roles without the right are refused with field errors, and nothing is written', async () => {
  const someone = (await roster())[0]!;
  const before = await writeSnapshot(ns);
  const fieldsOf = async (body: object) => (await add(body).expect(400)).body.fields as Record<string, string[]>;

  expect(Object.keys(await fieldsOf({ name: 'Eve', roles: ['cashier', 'janitor'], pin: '1234' }))).toEqual(['roles']);
  expect(Object.keys(await fieldsOf({ name: 'Eve', roles: ['cashier'], pin: '12' }))).toEqual(['pin']);
  expect(Object.keys(await fieldsOf({ name: 'Eve', roles: ['cashier'], pin: '1234567' }))).toEqual(['pin']);
  expect(Object.keys(await fieldsOf({ name: 'Eve', roles: ['cashier'], pin: 1234 }))).toEqual(['pin']);
  expect(Object.keys(await fieldsOf({ name: 'Eve', roles: [], pin: '1234' }))).toEqual(['roles']);
  expect(Object.keys(await fieldsOf({ name: 'Eve', roles: ['cashier', 'cashier'], pin: '1234' }))).toEqual(['roles']);
  expect(Object.keys(await fieldsOf({ name: 'x'.repeat(101), roles: ['cashier'], pin: '1234' }))).toEqual(['name']);
  expect(Object.keys(await fieldsOf({ name: 'Eve', roles: ['cashier'], pin: '1234', admin: true }))).toEqual(['admin']);
  expect(Object.keys(await fieldsOf({ roles: ['cashier'] })).sort()).toEqual(['name', 'pin']);

  const valid = { name: 'Eve Intruder', roles: ['cashier'], pin: '1234' };
  // A manager of another store, someone who is not a roster manager, an unknown store.
  await add(valid, manager(otherStoreId)).expect(403);
  await add(valid, bearer(api.token('hq-editor'))).expect(403);
  await add(valid, tablet()).expect(403);
  await add(valid, admin(), '7b0d8a6e-0000-4000-8000-000000000000').expect(404);
  // Someone of this store through another store's path; another store's manager editing them.
  await request(apps.command.url)
    .patch(`/v1/stores/${otherStoreId}/staff/${someone.id}`)
    .set(admin())
    .send({ roles: ['stock'] })
    .expect(404);
  await request(apps.command.url)
    .patch(`/v1/stores/${storeId}/staff/${someone.id}`)
    .set(manager(otherStoreId))
    .send({ roles: ['stock'] })
    .expect(403);
  await request(apps.command.url)
    .delete(`/v1/stores/${storeId}/staff/${someone.id}`)
    .set(manager(otherStoreId))
    .send({})
    .expect(403);
  // Only head office erases.
  await request(apps.command.url).delete(`/v1/staff/${someone.id}/personal-data`).set(manager()).send({}).expect(403);
  // Another store's manager does not read this roster; nor does a screen or an editor.
  await request(apps.gateway.url).get(`/v1/stores/${storeId}/staff`).set(manager(otherStoreId)).expect(403);
  await request(apps.gateway.url)
    .get(`/v1/stores/${storeId}/staff`)
    .set(bearer(api.token('hq-editor')))
    .expect(403);
  await request(apps.gateway.url).get(`/v1/stores/${storeId}/staff?all=yes`).set(admin()).expect(400);

  await expectNothingWritten(ns, before);
});

it('erases a person: every read shows "Erased person", through projector restarts, a lost mirror and a rebuild', async () => {
  const { id } = (await add({ name: 'Gaspard Villeneuve', roles: ['cashier'], pin: '8080' }).expect(201)).body;
  await eventually(async () => expect((await roster()).some((p) => p.name === 'Gaspard Villeneuve')).toBe(true));
  const others = (await roster(admin(), true)).filter((p) => p.id !== id);
  // Replay opens the sealed name for an analyst while the person has a key.
  const replayed = async () =>
    (await request(apps.gateway.url).get('/v1/events?type=staff.added').set(admin()).expect(200)).text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { aggregateId: string; data: { name: unknown; nameErased?: true } })
      .find((event) => event.aggregateId === id);
  expect((await replayed())?.data).toEqual(expect.objectContaining({ name: 'Gaspard Villeneuve' }));

  const forgotten = await runCli(['people', 'forget', id, '--url', apps.command.url], {
    ...ns.env,
    LASTMETER_HOME: undefined,
    LASTMETER_TOKEN: api.token('hq-admin'),
  });
  expect(forgotten.stderr + forgotten.stdout).toContain(`${id}: personal data erased`);
  expect(forgotten.code).toBe(0);
  // Erasing twice is refused, with the reason.
  await request(apps.command.url).delete(`/v1/staff/${id}/personal-data`).set(admin()).send({}).expect(422);

  const erased = { id, storeId, name: 'Erased person', roles: ['cashier'], status: 'erased' };
  const check = async () => {
    const all = await roster(admin(), true);
    expect(all.find((p) => p.id === id)).toMatchObject(erased);
    // Nobody else changed: the same people, names and statuses.
    expect(all.filter((p) => p.id !== id)).toEqual(others);
    expect((await roster()).some((p) => p.id === id)).toBe(false);
    expect(JSON.stringify(all)).not.toMatch(/Gaspard|Villeneuve/);
  };
  await eventually(check);
  // The key is a tombstone in its topic, and gone from Redis.
  expect((await personKeyRecords()).get(id)).toBeNull();
  const redis = createRedisClient(ns.env.REDIS_URL!, 'test-staff');
  try {
    expect(await redis.hexists(`${ns.keyPrefix}meta:person-keys`, id)).toBe(0);

    // The projector starts again and reads the key topic from its start: the key record is
    // still there before its tombstone (the active segment is not compacted), and must not
    // come back.
    await apps.projector.stop();
    await redis.del(`${ns.keyPrefix}meta:person-keys`, `${ns.keyPrefix}meta:person-keys:mirrored`);
    apps.projector = await restartOnSamePort(apps.projector, ns.env);
    await eventually(async () => expect(await redis.hlen(`${ns.keyPrefix}meta:person-keys`)).toBeGreaterThan(0));
    await check();

    // Redis loses the mirror while the projector runs: it is read again.
    await redis.del(`${ns.keyPrefix}meta:person-keys`, `${ns.keyPrefix}meta:person-keys:mirrored`);
    await eventually(check);
  } finally {
    redis.disconnect();
  }

  // A rebuild from offset 0 gives the same roster, the erased person included.
  const rebuilt = await runCli(['rebuild'], { ...ns.env, LASTMETER_HOME: undefined }, 180_000);
  expect(rebuilt.stderr).toContain('switched serving from g1 to g2');
  expect(rebuilt.code).toBe(0);
  await check();
  // Replay and the CLI's exports show the erased person, and the name nowhere.
  expect((await replayed())?.data).toEqual(expect.objectContaining({ name: 'Erased person', nameErased: true }));
  const replay = await request(apps.gateway.url).get('/v1/events?type=staff.added').set(admin()).expect(200);
  expect(replay.text).toContain(id);
  expect(replay.text).not.toMatch(/Gaspard|Villeneuve/);
  for (const format of ['ndjson', 'csv']) {
    const exported = await runCli(['replay', '--type', 'staff.added,staff.erased', '--format', format], {
      ...ns.env,
      LASTMETER_HOME: undefined,
    });
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain(id);
    expect(exported.stdout).toContain('Erased person');
    expect(exported.stdout).not.toMatch(/Gaspard|Villeneuve|A256GCM/);
  }
});

it('staff come in with the directory import: by HR reference, names sealed, a second run changes nothing, a changed row updates', async () => {
  const file = (...rows: string[]) => `${['kind,code,name,region,store,employee,roles,pin', ...rows].join('\n')}\n`;
  const importFile = async (body: string) =>
    (
      await request(apps.command.url)
        .post('/v1/imports')
        .set(admin())
        .set('content-type', 'text/csv')
        .set('accept', 'application/json')
        .send(body)
        .expect(200)
    ).body as ImportSummary;
  const first = file(
    'region,imp,Imported,,,,,',
    'store,imp-01,Imported 01,imp,,,,',
    'staff,,Inès Morel,,imp-01,E1001,cashier;sales,2580',
    'staff,,Jules Garnier,,imp-01,E1002,stock,1470',
    'staff,,Kim Nowak,,imp-01,E1003,cashier,',
    'staff,,Léa Robin,,imp-01,E1001,phone,3690',
    'staff,,Max Blanc,,imp-01,E1004,janitor,1234',
    'staff,,Nora Sy,,nowhere-01,E1005,cashier,1234',
  );
  const summary = await importFile(first);
  expect(summary.created).toEqual({ regions: 1, stores: 1, terminals: 0, staff: 2 });
  expect(summary.refused.map((r) => [r.line, r.key, Object.keys(r.fields ?? {})])).toEqual([
    [6, 'imp-01/E1003', ['pin']],
    [7, 'imp-01/E1001', ['employee']],
    [8, 'imp-01/E1004', ['roles']],
    [9, 'nowhere-01/E1005', ['store']],
  ]);
  // The store was just imported: the read side shows it a moment later.
  const storeId = await eventually(async () => {
    const found = (await request(apps.gateway.url).get('/v1/stores?q=imp-01').set(admin()).expect(200)).body.items;
    expect(found).toHaveLength(1);
    return found[0].id as string;
  });
  await eventually(async () =>
    expect((await roster(admin(), false, storeId)).map((p) => [p.name, p.roles])).toEqual([
      ['Inès Morel', ['cashier', 'sales']],
      ['Jules Garnier', ['stock']],
    ]),
  );
  // Nobody's name is in clear in any topic (the commands carried them sealed).
  expect(await everythingInKafka()).not.toMatch(/Inès|Morel|Garnier|Kim Nowak/);

  // The same file again: nothing changes. A changed name, roles and PIN update that person.
  const again = await importFile(first);
  expect(again.created).toEqual({ regions: 0, stores: 0, terminals: 0, staff: 0 });
  expect(again.unchanged).toEqual({ regions: 1, stores: 1, terminals: 0, staff: 2 });
  const changed = await importFile(
    file('staff,,Inès Morel-Dubois,,imp-01,E1001,cashier,2580', 'staff,,Jules Garnier,,imp-01,E1002,stock,9999'),
  );
  expect(changed.updated).toEqual({ regions: 0, stores: 0, terminals: 0, staff: 2 });
  await eventually(async () =>
    expect((await roster(admin(), false, storeId)).map((p) => [p.name, p.roles])).toEqual([
      ['Inès Morel-Dubois', ['cashier']],
      ['Jules Garnier', ['stock']],
    ]),
  );
});
