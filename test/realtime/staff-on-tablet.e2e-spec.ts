import request from 'supertest';
import {
  topicNames,
  STAFF_PIN_MAX_FAILURES,
  type EventEnvelope,
  type FeedItem,
  type FeedMessage,
  type PeopleReach,
  type Reminder,
  type ReceiptData,
  type StaffSession,
} from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { runCli } from '../support/cli';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { expectNothingWritten, writeSnapshot } from '../support/no-writes';
import { settled } from '../support/read-side';
import { bearer, bytes, Publisher } from '../support/write-api';
import { parse } from 'csv-parse/sync';

/**
 * Issue 21, items 2 and 3: staff share a store tablet. Each signs in with their PIN, and
 * what they open and acknowledge is recorded as them on that terminal; head office reads
 * seen-by and acknowledged-by per person, at every level, with who is overdue. Wrong PINs
 * lock a person out (nothing is written) until a manager unlocks them.
 */
const ns = testNamespace('staff-tablet');
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: Publisher;
const clients: TerminalClient[] = [];
let regionId: string;
let storeId: string;
let otherStoreId: string;
let tablet: { terminalId: string; token: string };
const staff: Record<string, string> = {};

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
  regionId = await api.region('floor');
  storeId = await api.store('FL-1', regionId);
  otherStoreId = await api.store('FL-2', regionId);
  const add = async (store: string, name: string, roles: string[], pin: string) =>
    (
      await request(apps.command.url)
        .post(`/v1/stores/${store}/staff`)
        .set(bearer(api.token('hq-admin')))
        .send({ name, roles, pin })
        .expect(201)
    ).body.id as string;
  staff.ann = await add(storeId, 'Ann Cashier', ['cashier'], '1111');
  staff.bob = await add(storeId, 'Bob Cashier', ['cashier'], '2222');
  staff.cleo = await add(storeId, 'Cleo Sales', ['sales', 'store-manager'], '3333');
  staff.dan = await add(otherStoreId, 'Dan Elsewhere', ['cashier'], '4444');
  tablet = await api.terminal(storeId);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

const signIn = (staffId: string, pin: string, token = tablet.token, store = storeId) =>
  request(apps.command.url).post(`/v1/stores/${store}/staff/${staffId}/sign-in`).set(bearer(token)).send({ pin });

const peopleReach = async (id: string, query = ''): Promise<PeopleReach> =>
  (
    await request(apps.gateway.url)
      .get(`/v1/communications/${id}/reach/people${query}`)
      .set(bearer(api.token('hq-editor')))
      .expect(200)
  ).body;

it('three people share a tablet: each acknowledges as themselves, and reach per person is exact at every level', async () => {
  const client = new TerminalClient({ url: apps.gateway.url, token: tablet.token, cursors: new MemoryCursorStore() });
  clients.push(client);
  const received: FeedMessage[] = [];
  client.onItem((item) => received.push(item));
  const reminders: Reminder[] = [];
  client.onReminder((reminder) => reminders.push(reminder));
  await client.connect();
  const dueAt = new Date(Date.now() + 6_000).toISOString();
  const id = await api.publish({ title: 'Fire drill at 10', audience: { all: true }, dueAt });
  const item = await eventually(() => {
    const found = received.find((m): m is FeedItem => 'communication' in m && m.communication.id === id);
    expect(found).toBeDefined();
    return found!;
  });
  const revision = item.communication.revision;

  const sessions: Record<string, StaffSession> = {};
  for (const [who, pin] of [
    ['ann', '1111'],
    ['bob', '2222'],
    ['cleo', '3333'],
  ] as const) {
    sessions[who] = (await signIn(staff[who], pin).expect(200)).body;
  }
  expect(sessions.ann).toEqual({
    token: expect.any(String),
    staffId: staff.ann,
    name: 'Ann Cashier',
    roles: ['cashier'],
    expiresAt: expect.any(String),
  });
  // A staff session is not a bearer token anywhere.
  await request(apps.gateway.url).get('/v1/communications').set(bearer(sessions.ann.token)).expect(401);

  // Ann and Bob acknowledge on the same tablet; Cleo only reads. Each is their own fact.
  for (const who of ['ann', 'bob']) {
    expect(
      await client.receipt({ communicationId: id, kind: 'acknowledged', revision, staff: sessions[who].token }),
    ).toEqual({ ok: true });
  }
  expect(await client.receipt({ communicationId: id, kind: 'read', revision, staff: sessions.cleo.token })).toEqual({
    ok: true,
  });
  // Ann again: the same fact, once.
  expect(
    await client.receipt({ communicationId: id, kind: 'acknowledged', revision, staff: sessions.ann.token }),
  ).toEqual({ ok: true, duplicate: true });
  // Another tablet's session, or none that we signed, is refused on the `staff` field.
  const forged = await client.receipt({ communicationId: id, kind: 'read', revision, staff: 'a.b.c' });
  expect(forged).toEqual({
    ok: false,
    error: { message: 'invalid message: staff', fields: { staff: expect.any(Array) } },
  });

  const facts = (await readTopic<EventEnvelope<string, ReceiptData>>(ns.env.KAFKA_BROKERS!, topics.storeEvents))
    .map((m) => m.value)
    .filter((e) => e.data.communicationId === id && e.data.staffId);
  expect(facts.map((e) => [e.type, e.data.staffId, e.data.terminalId]).sort()).toEqual(
    [
      ['receipt.acknowledged', staff.ann, tablet.terminalId],
      ['receipt.acknowledged', staff.bob, tablet.terminalId],
      ['receipt.read', staff.cleo, tablet.terminalId],
    ].sort(),
  );

  // All → region → store: the denominator is every person of the targeted stores (Dan too).
  const overall = await eventually(async () => {
    const report = await peopleReach(id);
    expect(report.overall).toMatchObject({ persons: 4, seen: 3, acknowledged: 2 });
    return report;
  });
  expect(overall.byRegion).toEqual([{ regionId, persons: 4, seen: 3, acknowledged: 2, overdue: expect.any(Number) }]);
  const region = await peopleReach(id, `?regionId=${regionId}`);
  expect(
    region.byStore?.map(({ storeId: s, persons, seen, acknowledged }) => [s, persons, seen, acknowledged]).sort(),
  ).toEqual(
    [
      [storeId, 3, 3, 2],
      [otherStoreId, 1, 0, 0],
    ].sort(),
  );

  // Once due: the people who have not acknowledged are overdue, by name.
  const store = await eventually(
    async () => {
      const report = await peopleReach(id, `?storeId=${storeId}`);
      expect(report.overall.overdue).toBe(1);
      return report;
    },
    { timeoutMs: 30_000 },
  );
  expect(store.people?.map((p) => [p.name, !!p.seenAt, !!p.acknowledgedAt, p.overdue])).toEqual([
    ['Ann Cashier', true, true, false],
    ['Bob Cashier', true, true, false],
    ['Cleo Sales', true, false, true],
  ]);
  expect((await peopleReach(id)).overall).toEqual({ persons: 4, seen: 3, acknowledged: 2, overdue: 2 });
  // At the due time the tablet was reminded, once, of who in its store has not acknowledged.
  await eventually(() => expect(reminders).toHaveLength(1));
  expect(reminders[0]).toEqual({
    communicationId: id,
    title: 'Fire drill at 10',
    dueAt,
    people: [{ staffId: staff.cleo, name: 'Cleo Sales' }],
  });
  // The audit CSV has a row per person after each store's terminal rows (stores by code: FL-1, FL-2).
  const csv = await request(apps.gateway.url)
    .get(`/v1/audit/communications/${id}.csv`)
    .set(bearer(api.token('analyst')))
    .buffer(true)
    .parse(bytes);
  const rows = parse((csv.body as Buffer).toString('utf8'), { columns: true, bom: true }) as Array<
    Record<string, string>
  >;
  expect(
    rows.filter((r) => r.staffId).map((r) => [r.storeId, r.staffName, !!r.readAt, !!r.acknowledgedAt, r.overdue]),
  ).toEqual([
    [storeId, 'Ann Cashier', true, true, 'no'],
    [storeId, 'Bob Cashier', true, true, 'no'],
    [storeId, 'Cleo Sales', true, false, 'yes'],
    [otherStoreId, 'Dan Elsewhere', false, false, 'yes'],
  ]);

  // The store's manager reads their own store's people, not another's, and not the whole country.
  const manager = bearer(api.token('store-manager', { storeId }));
  await request(apps.gateway.url)
    .get(`/v1/communications/${id}/reach/people?storeId=${storeId}`)
    .set(manager)
    .expect(200);
  await request(apps.gateway.url)
    .get(`/v1/communications/${id}/reach/people?storeId=${otherStoreId}`)
    .set(manager)
    .expect(403);
  await request(apps.gateway.url).get(`/v1/communications/${id}/reach/people`).set(manager).expect(400);

  // Erasing Ann changes no count; she is listed as an erased person.
  await request(apps.command.url)
    .delete(`/v1/staff/${staff.ann}/personal-data`)
    .set(bearer(api.token('hq-admin')))
    .send({})
    .expect(200);
  await eventually(async () => {
    const after = await peopleReach(id, `?storeId=${storeId}`);
    expect(after.overall).toEqual(store.overall);
    expect(after.people?.map((p) => p.name)).toEqual(['Bob Cashier', 'Cleo Sales', 'Erased person']);
  });

  // A rebuild from offset 0 after the forget gives the same counts at every level, the same
  // rows per person (Ann still erased), and the same audit rows.
  const beforeRebuild = [
    await peopleReach(id),
    await peopleReach(id, `?regionId=${regionId}`),
    await peopleReach(id, `?storeId=${storeId}`),
  ];
  const auditRows = async () => {
    const text = (
      await request(apps.gateway.url)
        .get(`/v1/audit/communications/${id}.csv`)
        .set(bearer(api.token('analyst')))
        .buffer(true)
        .parse(bytes)
    ).body as Buffer;
    return (parse(text.toString('utf8'), { columns: true, bom: true }) as Array<Record<string, string>>).filter(
      (r) => r.staffId,
    );
  };
  const auditBefore = await auditRows();
  expect(auditBefore.map((r) => r.staffName).sort()).toEqual([
    'Bob Cashier',
    'Cleo Sales',
    'Dan Elsewhere',
    'Erased person',
  ]);
  const rebuilt = await runCli(['rebuild'], { ...ns.env, LASTMETER_HOME: undefined }, 180_000);
  expect(rebuilt.stderr).toContain('switched serving from g1 to g2');
  expect(rebuilt.code).toBe(0);
  await eventually(async () =>
    expect([
      await peopleReach(id),
      await peopleReach(id, `?regionId=${regionId}`),
      await peopleReach(id, `?storeId=${storeId}`),
    ]).toEqual(beforeRebuild),
  );
  expect(await auditRows()).toEqual(auditBefore);
  expect(JSON.stringify([beforeRebuild, auditBefore])).not.toContain('Ann');
});

it('wrong PINs lock a person out without writing anything; a manager unlocks them', async () => {
  const before = await writeSnapshot(ns);
  const answers: Array<[number, unknown]> = [];
  for (let i = 0; i < STAFF_PIN_MAX_FAILURES; i++) {
    const response = await signIn(staff.bob, '9999');
    answers.push([response.status, response.body.attemptsLeft]);
  }
  expect(answers).toEqual([
    ...Array.from({ length: STAFF_PIN_MAX_FAILURES - 1 }, (_, i) => [401, STAFF_PIN_MAX_FAILURES - 1 - i]),
    [423, undefined],
  ]);
  // Locked: even the right PIN is refused now.
  expect((await signIn(staff.bob, '2222').expect(423)).body.locked).toBe(true);
  // No event, no key of the log's; only the lock and the counters in Redis.
  await expectNothingWritten(ns, before, { ignore: /meta:staff-(lock|pin-failures|pin-terminal):/ });
  const roster = await request(apps.gateway.url)
    .get(`/v1/stores/${storeId}/staff`)
    .set(bearer(api.token('hq-admin')))
    .expect(200);
  expect(roster.body.items.find((p: { id: string }) => p.id === staff.bob).locked).toBe(true);

  // A tablet cannot unlock without a signed-in manager; Cleo (store-manager role) can.
  const unlock = (body: object, token = tablet.token) =>
    request(apps.command.url).post(`/v1/stores/${storeId}/staff/${staff.bob}/unlock`).set(bearer(token)).send(body);
  await unlock({}).expect(403);
  const dan = await unlock({ staff: 'a.b.c' }).expect(403);
  expect(dan.body.message).toMatch(/sign in again/);
  const cleo = (await signIn(staff.cleo, '3333').expect(200)).body as StaffSession;
  await unlock({ staff: cleo.token }).expect(200);
  await unlock({ staff: cleo.token }).expect(409);
  await signIn(staff.bob, '2222').expect(200);
});

it('refuses sign-in from another store, for another store’s staff, with a bad PIN shape or by a user', async () => {
  const other = await api.terminal(otherStoreId);
  // The new terminal's own facts and read-model keys land a moment after registration;
  // the snapshot must include them, so only the refused sign-ins are watched below.
  await settled(ns, apps.projector);
  const before = await writeSnapshot(ns);
  await signIn(staff.ann, '1111', other.token).expect(403);
  await signIn(staff.dan, '4444').expect(404);
  const shape = await signIn(staff.bob, '12').expect(400);
  expect(Object.keys(shape.body.fields)).toEqual(['pin']);
  await signIn(staff.bob, '2222', api.token('hq-admin')).expect(403);
  await expectNothingWritten(ns, before, { ignore: /meta:staff-(lock|pin-failures|pin-terminal):/ });
});

it('a store manager dismisses or assigns a suggested task, never a mandated one; the compliance board separates the two', async () => {
  const dueAt = new Date(Date.now() + 3_600_000).toISOString();
  const audience = { storeIds: [storeId] };
  const mandated = await api.publish({ kind: 'task', title: 'Count the tills', audience, dueAt });
  const suggested = await api.publish({
    kind: 'task',
    title: 'Try the new window display',
    audience,
    dueAt,
    mandate: 'suggested',
  });
  const manager = bearer(api.token('store-manager', { sub: 'manager-fl1', storeId }));
  const decide = (id: string, what: 'dismiss' | 'assign', body: object, auth = manager, store = storeId) =>
    request(apps.command.url).post(`/v1/stores/${store}/tasks/${id}/${what}`).set(auth).send(body);
  // Wait until the command service holds both tasks in the store's feed.
  await eventually(async () => {
    await decide(mandated, 'dismiss', { reason: 'no' }).expect(403);
  });

  // Refused, and nothing written: a mandated task, another store's manager, a tablet with
  // no manager signed in or with a cashier, staff of another store, no reason.
  const cashier = (await signIn(staff.bob, '2222').expect(200)).body as StaffSession;
  // The two tasks' read-model keys (reach, feed) land when the projector gets to them;
  // the snapshot must include them, so only the refused decisions are watched below.
  await settled(ns, apps.projector);
  const before = await writeSnapshot(ns);
  expect((await decide(mandated, 'dismiss', { reason: 'We have no till' }).expect(403)).body.message).toMatch(
    /mandates this task/,
  );
  await decide(mandated, 'assign', { staffIds: [staff.bob] }).expect(403);
  const otherManager = bearer(api.token('store-manager', { storeId: otherStoreId }));
  await decide(suggested, 'dismiss', { reason: 'no' }, otherManager).expect(403);
  await decide(suggested, 'dismiss', { reason: 'no' }, bearer(tablet.token)).expect(403);
  await decide(suggested, 'dismiss', { reason: 'no', staff: cashier.token }, bearer(tablet.token)).expect(403);
  const notOurs = await decide(suggested, 'assign', { staffIds: [staff.dan] }).expect(400);
  expect(Object.keys(notOurs.body.fields)).toEqual(['staffIds']);
  expect(Object.keys((await decide(suggested, 'dismiss', {}).expect(400)).body.fields)).toEqual(['reason']);
  await decide('7b0d8a6e-0000-4000-8000-000000000000', 'dismiss', { reason: 'no' }).expect(404);
  await expectNothingWritten(ns, before, { ignore: /meta:staff-(lock|pin-failures|pin-terminal):/ });

  // The manager assigns the suggested task to Bob and Cleo; then Cleo, the store manager
  // signed in on the tablet, dismisses it with a reason.
  await decide(suggested, 'assign', { staffIds: [staff.cleo, staff.bob] }).expect(200);
  const cleo = (await signIn(staff.cleo, '3333').expect(200)).body as StaffSession;
  const dismissed = await decide(
    suggested,
    'dismiss',
    { reason: 'The window is being repainted', staff: cleo.token },
    bearer(tablet.token),
  ).expect(200);
  // Sent again: the same fact.
  const again = await decide(
    suggested,
    'dismiss',
    { reason: 'The window is being repainted', staff: cleo.token },
    bearer(tablet.token),
  ).expect(200);
  expect(again.body.id).toBe(dismissed.body.id);
  const facts = (await readTopic(ns.env.KAFKA_BROKERS!, topics.storeEvents))
    .map((m) => m.value)
    .filter((e) => e.type === 'task.dismissed' || e.type === 'task.assigned');
  expect(facts.map((e) => [e.type, (e.data as { by: unknown }).by])).toEqual([
    ['task.assigned', { userId: 'manager-fl1' }],
    ['task.dismissed', { staffId: staff.cleo, terminalId: tablet.terminalId }],
  ]);

  // The board: the mandated task is open; the suggested one dismissed (not open), with who it went to.
  const board = await eventually(async () => {
    const response = await request(apps.gateway.url).get('/v1/compliance').set(manager).expect(200);
    const row = response.body.items.find((r: { storeId: string }) => r.storeId === storeId);
    expect(row.suggested).toEqual({ open: 0, overdue: 0, completed: 0, dismissed: 1 });
    return row;
  });
  expect(board.mandated).toEqual({ open: 1, overdue: 0, completed: 0 });
  const task = board.tasks.find((t: { communicationId: string }) => t.communicationId === suggested);
  expect(task).toMatchObject({
    mandate: 'suggested',
    dismissed: { reason: 'The window is being repainted', by: { staffId: staff.cleo } },
    assignedTo: [staff.bob, staff.cleo].sort(),
  });
  expect(board.tasks.find((t: { communicationId: string }) => t.communicationId === mandated).mandate).toBe('mandated');
});

it('a note a signed-in person writes is sealed with their key: shown on the board, unreadable once they are erased', async () => {
  const client = new TerminalClient({ url: apps.gateway.url, token: tablet.token, cursors: new MemoryCursorStore() });
  clients.push(client);
  const received: FeedMessage[] = [];
  client.onItem((item) => received.push(item));
  await client.connect();
  const task = await api.publish({
    kind: 'task',
    title: 'Count the pallets',
    audience: { storeIds: [storeId] },
    dueAt: new Date(Date.now() + 3_600_000).toISOString(),
    evidence: 'note',
  });
  await eventually(() => expect(received.some((m) => 'communication' in m && m.communication.id === task)).toBe(true));
  const cleo = (await signIn(staff.cleo, '3333').expect(200)).body as StaffSession;
  const note = 'Counted 37 pallets behind the cold room';
  expect(await client.send('task.complete', { communicationId: task, revision: 1, note, staff: cleo.token })).toEqual({
    ok: true,
  });
  // Nowhere in clear in the log.
  const facts = (
    await readTopic<EventEnvelope<string, Record<string, unknown>>>(ns.env.KAFKA_BROKERS!, topics.storeEvents)
  )
    .map((m) => m.value)
    .filter((e) => e.type === 'task.completed' && e.data.communicationId === task);
  expect(facts).toHaveLength(1);
  expect(facts[0]!.data).toMatchObject({ staffId: staff.cleo, sealedNote: { enc: 'A256GCM' } });
  expect(JSON.stringify(facts)).not.toContain('37 pallets');

  const manager = bearer(api.token('store-manager', { storeId }));
  const evidence = async () => {
    const board = await request(apps.gateway.url).get('/v1/compliance').set(manager).expect(200);
    const row = board.body.items.find((r: { storeId: string }) => r.storeId === storeId);
    return row.tasks.find((t: { communicationId: string }) => t.communicationId === task).evidence;
  };
  await eventually(async () => expect(await evidence()).toMatchObject({ staffId: staff.cleo, note }));
  const page = await request(apps.gateway.url)
    .get(`/v1/communications/${task}/evidence`)
    .set(bearer(api.token('hq-editor')))
    .expect(200);
  expect(page.body.items).toEqual([expect.objectContaining({ storeId, staffId: staff.cleo, note })]);
  // An analyst's replay opens the note too, while Cleo has a key.
  const replayed = async () =>
    (
      await request(apps.gateway.url)
        .get(`/v1/events?type=task.completed&storeId=${storeId}`)
        .set(bearer(api.token('analyst')))
        .expect(200)
    ).text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as EventEnvelope<string, Record<string, unknown>>)
      .filter((e) => e.data.communicationId === task);
  expect((await replayed()).map((e) => e.data)).toEqual([expect.objectContaining({ staffId: staff.cleo, note })]);

  await request(apps.command.url)
    .delete(`/v1/staff/${staff.cleo}/personal-data`)
    .set(bearer(api.token('hq-admin')))
    .send({})
    .expect(200);
  const erased = await evidence();
  expect(erased).toMatchObject({ staffId: staff.cleo, noteErased: true });
  expect(JSON.stringify(erased)).not.toContain('pallets');
  const after = await request(apps.gateway.url)
    .get(`/v1/communications/${task}/evidence`)
    .set(bearer(api.token('hq-editor')))
    .expect(200);
  expect(after.text).not.toContain('pallets');
  const replay = await replayed();
  expect(replay.map((e) => e.data)).toEqual([expect.objectContaining({ staffId: staff.cleo, noteErased: true })]);
  expect(JSON.stringify(replay)).not.toMatch(/pallets|A256GCM/);
});
