import request from 'supertest';
import type { OpeningHours, StoreView } from '@lastmeter/contracts';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { expectNothingWritten, writeSnapshot } from '../support/no-writes';
import { bearer, WriteApi } from '../support/write-api';

/**
 * Issue 22, item 1: stores carry `openingHours`, set at creation, update and import, and
 * validated: a malformed time or a closing before the opening is a 400 with field errors,
 * and nothing is written.
 */
const ns = testNamespace('hours');
let apps: Record<AppName, RunningApp>;
let api: WriteApi;
let admin: Record<string, string>;
let regionId: string;

const WEEK: OpeningHours = {
  mon: ['08:00', '20:00'],
  tue: ['08:00', '20:00'],
  sat: ['09:00', '13:00'],
  exceptions: { '2026-12-24': ['08:00', '16:00'], '2026-12-25': null },
};

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new WriteApi(apps.command.url, ns);
  admin = bearer(api.token('hq-admin'));
  regionId = await api.region('hours');
});

afterAll(async () => {
  await stopApps(apps);
  await cleanupNamespace(ns);
});

async function storeAsRead(id: string, until: (store: StoreView) => boolean): Promise<StoreView> {
  return eventually(async () => {
    const response = await request(apps.gateway.url).get(`/v1/stores/${id}`).set(admin);
    expect(response.status).toBe(200);
    expect(until(response.body as StoreView)).toBe(true);
    return response.body as StoreView;
  });
}

it('keeps the opening hours given at creation and changes them on update', async () => {
  const created = await request(apps.command.url)
    .post('/v1/stores')
    .set(admin)
    .send({ code: 'H1', name: 'Lille', regionId, timezone: 'Europe/Paris', openingHours: WEEK })
    .expect(201);
  const id = created.body.id as string;
  expect((await storeAsRead(id, (s) => s.openingHours !== undefined)).openingHours).toEqual(WEEK);

  const later: OpeningHours = { ...WEEK, sun: ['10:00', '24:00'] };
  await request(apps.command.url).patch(`/v1/stores/${id}`).set(admin).send({ openingHours: later }).expect(200);
  expect((await storeAsRead(id, (s) => s.openingHours?.sun !== undefined)).openingHours).toEqual(later);
});

it.each([
  ['closing before opening', { mon: ['20:00', '08:00'] }, 'mon: closes at 08:00, not after it opens at 20:00'],
  ['an hour past 23', { tue: ['25:00', '26:00'] }, 'tue: "25:00" is not a time of day (HH:MM, 00:00-23:59)'],
  ['a time without two digits', { wed: ['8:00', '20:00'] }, 'wed: "8:00" is not a time of day (HH:MM, 00:00-23:59)'],
  ['a span of one time', { thu: ['08:00'] }, 'thu: must be ["HH:MM", "HH:MM"]: when it opens and when it closes'],
  ['an unknown weekday', { monday: ['08:00', '20:00'] }, 'monday: not a weekday'],
  ['a date that does not exist', { exceptions: { '2026-02-30': null } }, 'exceptions.2026-02-30: not a date'],
  ['a list instead of an object', [['08:00', '20:00']], 'must be an object of weekdays'],
])('refuses %s with its field error, on create and update, and writes nothing', async (_name, hours, message) => {
  // A digit first: the name's random word can never match the import test's search for "HI".
  const id = (await api.store(`H-0${Math.random().toString(36).slice(2, 8)}`, regionId)) as string;
  await storeAsRead(id, () => true);
  const before = await writeSnapshot(ns);
  const created = await request(apps.command.url)
    .post('/v1/stores')
    .set(admin)
    .send({ code: 'H-BAD', name: 'Bad', regionId, openingHours: hours })
    .expect(400);
  expect(created.body.fields.openingHours.join(' ')).toContain(message);
  const updated = await request(apps.command.url)
    .patch(`/v1/stores/${id}`)
    .set(admin)
    .send({ openingHours: hours })
    .expect(400);
  expect(updated.body.fields.openingHours.join(' ')).toContain(message);
  await expectNothingWritten(ns, before);
});

it('imports opening hours from a CSV cell and an NDJSON object, and refuses a bad row with its line', async () => {
  const csv = [
    'kind,code,name,region,timezone,hours',
    'region,hours-imp,Imported,,,',
    'store,HI1,Gare,hours-imp,Europe/Paris,"mon-fri 08:00-20:00; sat 09:00-13:00; 2026-12-25 closed"',
    'store,HI2,Bad,hours-imp,Europe/Paris,mon-fri 20:00-08:00',
    'store,HI3,Worse,hours-imp,Europe/Paris,weekdays 08:00-20:00',
  ].join('\n');
  const answer = await request(apps.command.url)
    .post('/v1/imports')
    .set(admin)
    .set('content-type', 'text/csv')
    .send(csv)
    .expect(200);
  expect(answer.body.created).toMatchObject({ regions: 1, stores: 1 });
  expect(answer.body.refused).toEqual([
    expect.objectContaining({
      line: 4,
      key: 'HI2',
      fields: { hours: [expect.stringContaining('mon: closes at 08:00')] },
    }),
    expect.objectContaining({ line: 5, key: 'HI3', fields: { hours: [expect.stringContaining('"weekdays"')] } }),
  ]);

  const ndjson = JSON.stringify({
    kind: 'store',
    code: 'HI4',
    name: 'Centre',
    region: 'hours-imp',
    hours: { sun: ['10:00', '18:00'] },
  });
  const second = await request(apps.command.url)
    .post('/v1/imports')
    .set(admin)
    .set('content-type', 'application/x-ndjson')
    .send(ndjson)
    .expect(200);
  expect(second.body.created).toMatchObject({ stores: 1 });

  const page = await eventually(async () => {
    const response = await request(apps.gateway.url).get('/v1/stores?q=HI').set(admin).expect(200);
    const items = response.body.items as StoreView[];
    expect(items.map((s) => s.code).sort()).toEqual(['HI1', 'HI4']);
    return items;
  });
  expect(page.find((s) => s.code === 'HI1')!.openingHours).toEqual({
    mon: ['08:00', '20:00'],
    tue: ['08:00', '20:00'],
    wed: ['08:00', '20:00'],
    thu: ['08:00', '20:00'],
    fri: ['08:00', '20:00'],
    sat: ['09:00', '13:00'],
    exceptions: { '2026-12-25': null },
  });
  expect(page.find((s) => s.code === 'HI4')!.openingHours).toEqual({ sun: ['10:00', '18:00'] });
});
