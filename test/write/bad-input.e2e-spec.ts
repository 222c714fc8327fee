import { JwtService } from '@nestjs/jwt';
import request from 'supertest';
import { topicNames } from '@lastmeter/contracts';
import { startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { endOffsets } from '../support/log-reader';
import { bearer, tokenFor, WriteApi } from '../support/write-api';

/**
 * Bad input gets the exact 4xx with per-field errors, and nothing is written: after the
 * whole matrix the end offsets of the event topics have not moved.
 */
const ns = testNamespace('badinput');
const topics = topicNames(ns.topicPrefix);
const UNKNOWN = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const future = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();
const past = new Date(Date.now() - 3_600_000).toISOString();

let app: RunningApp;
let api: WriteApi;
let regionId = '';
let storeA = '';
let storeB = '';
let agencyDraft: { id: string; version: number };
let editorDraft: { id: string; version: number };
let offsetsBefore: Record<string, Record<number, string>>;

interface Case {
  name: string;
  method: 'post' | 'patch' | 'delete';
  path: () => string;
  token?: () => string | undefined;
  headers?: Record<string, string>;
  body?: unknown;
  raw?: string;
  status: number;
  fields?: string[];
}

const editor = () => tokenFor(ns, 'hq-editor');
const admin = () => tokenFor(ns, 'hq-admin');
const note = (extra: Record<string, unknown> = {}) => ({
  kind: 'notice',
  title: 'Till roll delivery',
  body: 'New till rolls arrive on Tuesday.',
  audience: { all: true },
  ...extra,
});

const cases: Case[] = [
  {
    name: 'unknown field',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ colour: 'red' }),
    status: 400,
    fields: ['colour'],
  },
  {
    name: 'empty title',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ title: '' }),
    status: 400,
    fields: ['title'],
  },
  {
    name: 'oversized title',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ title: 'x'.repeat(201) }),
    status: 400,
    fields: ['title'],
  },
  {
    name: 'title of the wrong type',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ title: 42 }),
    status: 400,
    fields: ['title'],
  },
  {
    name: 'unknown kind',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ kind: 'memo' }),
    status: 400,
    fields: ['kind'],
  },
  {
    name: 'missing body',
    method: 'post',
    path: () => '/v1/communications',
    body: { ...note(), body: undefined },
    status: 400,
    fields: ['body'],
  },
  {
    name: 'missing audience',
    method: 'post',
    path: () => '/v1/communications',
    body: { ...note(), audience: undefined },
    status: 400,
    fields: ['audience'],
  },
  {
    name: 'audience targets nothing',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ audience: {} }),
    status: 400,
    fields: ['audience'],
  },
  {
    name: 'region id not a uuid',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ audience: { regionIds: ['north'] } }),
    status: 400,
    fields: ['audience.regionIds'],
  },
  {
    name: 'unknown region id',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ audience: { regionIds: [UNKNOWN] } }),
    status: 400,
    fields: ['audience.regionIds'],
  },
  {
    name: 'unknown store id',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ audience: { storeIds: [UNKNOWN] } }),
    status: 400,
    fields: ['audience.storeIds'],
  },
  {
    name: 'unknown audience role',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ audience: { all: true, roles: ['ceo'] } }),
    status: 400,
    fields: ['audience.roles'],
  },
  {
    name: 'bad priority',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ priority: 'asap' }),
    status: 400,
    fields: ['priority'],
  },
  {
    name: 'task without due date',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ kind: 'task' }),
    status: 400,
    fields: ['dueAt'],
  },
  {
    name: 'due date in the past',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ kind: 'task', dueAt: past }),
    status: 400,
    fields: ['dueAt'],
  },
  {
    name: 'due date not a date',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ kind: 'task', dueAt: 'tomorrow' }),
    status: 400,
    fields: ['dueAt'],
  },
  {
    name: 'questions on a notice',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ questions: [{ prompt: 'Q?', options: ['a', 'b'], answer: 0 }] }),
    status: 400,
    fields: ['questions'],
  },
  {
    name: 'question with one option',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ kind: 'training', questions: [{ prompt: 'Q?', options: ['a'], answer: 0 }] }),
    status: 400,
    fields: ['questions.0.options'],
  },
  {
    name: 'body over 256 KiB',
    method: 'post',
    path: () => '/v1/communications',
    body: note({ body: 'x'.repeat(300 * 1024) }),
    status: 413,
  },
  { name: 'malformed JSON', method: 'post', path: () => '/v1/communications', raw: '{"kind": "notice",', status: 400 },
  {
    name: 'no token',
    method: 'post',
    path: () => '/v1/communications',
    token: () => undefined,
    body: note(),
    status: 401,
  },
  {
    name: 'garbled token',
    method: 'post',
    path: () => '/v1/communications',
    token: () => 'not.a.jwt',
    body: note(),
    status: 401,
  },
  {
    name: 'expired token',
    method: 'post',
    path: () => '/v1/communications',
    token: () => tokenFor(ns, 'hq-editor', { expiresIn: '-10s' }),
    body: note(),
    status: 401,
  },
  {
    name: 'token from another secret',
    method: 'post',
    path: () => '/v1/communications',
    token: () =>
      new JwtService({ secret: 'someone-elses-secret-0123456789abcdef' }).sign({ sub: 'x', role: 'hq-admin' }),
    body: note(),
    status: 401,
  },
  {
    name: 'agency approving',
    method: 'post',
    path: () => `/v1/communications/${agencyDraft.id}/approve`,
    token: () => tokenFor(ns, 'agency'),
    body: {},
    status: 403,
  },
  {
    name: 'terminal token on a command route',
    method: 'post',
    path: () => '/v1/communications',
    token: () => tokenFor(ns, 'terminal', { storeId: storeA }),
    body: note(),
    status: 403,
  },
  {
    name: 'analyst drafting',
    method: 'post',
    path: () => '/v1/communications',
    token: () => tokenFor(ns, 'analyst'),
    body: note(),
    status: 403,
  },
  {
    name: 'store manager publishing',
    method: 'post',
    path: () => `/v1/communications/${editorDraft.id}/publish`,
    token: () => tokenFor(ns, 'store-manager', { storeId: storeA }),
    body: {},
    status: 403,
  },
  {
    name: 'publishing an unapproved agency draft',
    method: 'post',
    path: () => `/v1/communications/${agencyDraft.id}/publish`,
    body: {},
    status: 422,
  },
  {
    name: 'publishAt in the past',
    method: 'post',
    path: () => `/v1/communications/${editorDraft.id}/publish`,
    body: { publishAt: past },
    status: 400,
    fields: ['publishAt'],
  },
  {
    name: 'expiresAt before publishAt',
    method: 'post',
    path: () => `/v1/communications/${editorDraft.id}/publish`,
    body: { publishAt: future(5), expiresAt: future(2) },
    status: 400,
    fields: ['expiresAt'],
  },
  {
    name: 'unknown field on publish',
    method: 'post',
    path: () => `/v1/communications/${editorDraft.id}/publish`,
    body: { when: 'now' },
    status: 400,
    fields: ['when'],
  },
  {
    name: 'garbled If-Match',
    method: 'patch',
    path: () => `/v1/communications/${editorDraft.id}`,
    headers: { 'If-Match': 'yesterday' },
    body: { title: 'New' },
    status: 400,
    fields: ['If-Match'],
  },
  {
    name: 'stale If-Match',
    method: 'patch',
    path: () => `/v1/communications/${editorDraft.id}`,
    headers: { 'If-Match': '7' },
    body: { title: 'New' },
    status: 409,
  },
  {
    name: 'revising a communication that does not exist',
    method: 'patch',
    path: () => `/v1/communications/${UNKNOWN}`,
    body: { title: 'New' },
    status: 404,
  },
  {
    name: 'id that is not a uuid',
    method: 'patch',
    path: () => '/v1/communications/42',
    body: { title: 'New' },
    status: 400,
  },
  {
    name: 'reject without a reason',
    method: 'post',
    path: () => `/v1/communications/${agencyDraft.id}/reject`,
    body: {},
    status: 400,
    fields: ['reason'],
  },
  {
    name: 'Idempotency-Key too long',
    method: 'post',
    path: () => '/v1/communications',
    headers: { 'Idempotency-Key': 'k'.repeat(201) },
    body: note(),
    status: 400,
    fields: ['Idempotency-Key'],
  },
  {
    name: "report for another store's resources",
    method: 'post',
    path: () => `/v1/stores/${storeB}/reports`,
    token: () => tokenFor(ns, 'store-manager', { storeId: storeA }),
    body: { title: 'Broken door', body: 'The back door does not close.' },
    status: 403,
  },
  {
    name: 'report with an unknown field',
    method: 'post',
    path: () => `/v1/stores/${storeA}/reports`,
    token: () => tokenFor(ns, 'store-manager', { storeId: storeA }),
    body: { title: 'T', body: 'B', urgent: true },
    status: 400,
    fields: ['urgent'],
  },
  {
    name: 'store in an unknown region',
    method: 'post',
    path: () => '/v1/stores',
    token: admin,
    body: { code: 'lost-01', name: 'Lost', regionId: UNKNOWN },
    status: 400,
    fields: ['regionId'],
  },
  {
    name: 'store code taken',
    method: 'post',
    path: () => '/v1/stores',
    token: admin,
    body: { code: 'a-01', name: 'Again', regionId: '${region}' },
    status: 409,
  },
  {
    name: 'store with a bad timezone',
    method: 'post',
    path: () => '/v1/stores',
    token: admin,
    body: { code: 'tz-01', name: 'TZ', regionId: UNKNOWN, timezone: 'Mars/Olympus' },
    status: 400,
    fields: ['timezone'],
  },
  {
    name: 'store with a locale that is no language tag',
    method: 'post',
    path: () => '/v1/stores',
    token: admin,
    body: { code: 'lc-01', name: 'LC', regionId: UNKNOWN, locale: 'klingon!' },
    status: 400,
    fields: ['locale'],
  },
  {
    name: 'communication with a delivery on an urgent item',
    method: 'post',
    path: () => '/v1/communications',
    token: editor,
    body: {
      kind: 'notice',
      title: 't',
      body: 'b',
      priority: 'urgent',
      delivery: 'next-brief',
      audience: { all: true },
    },
    status: 400,
    fields: ['delivery'],
  },
  {
    name: 'communication with a translation keyed by a malformed tag',
    method: 'post',
    path: () => '/v1/communications',
    token: editor,
    body: {
      kind: 'notice',
      title: 't',
      body: 'b',
      audience: { all: true },
      translations: { 'fr-be': { title: 'x', body: 'y' } },
    },
    status: 400,
    fields: ['translations'],
  },
  {
    name: 'terminal for an unknown store',
    method: 'post',
    path: () => '/v1/terminals',
    token: admin,
    body: { storeId: UNKNOWN },
    status: 400,
    fields: ['storeId'],
  },
  {
    name: 'terminal with an unknown role',
    method: 'post',
    path: () => '/v1/terminals',
    token: admin,
    body: { storeId: storeA, roles: ['janitor'] },
    status: 400,
    fields: ['roles'],
  },
  {
    name: 'enrolling with an unknown code',
    method: 'post',
    path: () => '/v1/terminals/enroll',
    token: () => undefined,
    body: { code: 'AAAA-BBBB-CCCC' },
    status: 422,
  },
  {
    name: 'store manager user without a store',
    method: 'post',
    path: () => '/v1/users',
    token: admin,
    body: { username: 'mgr-x', password: 'long-enough-1', role: 'store-manager' },
    status: 400,
    fields: ['storeId'],
  },
  {
    name: 'user with a short password',
    method: 'post',
    path: () => '/v1/users',
    token: admin,
    body: { username: 'user-y', password: 'short', role: 'analyst' },
    status: 400,
    fields: ['password'],
  },
  {
    name: 'editor creating users',
    method: 'post',
    path: () => '/v1/users',
    token: editor,
    body: { username: 'user-z', password: 'long-enough-1', role: 'analyst' },
    status: 403,
  },
];

beforeAll(async () => {
  app = await startApp('command', ns.env);
  api = new WriteApi(app.url, ns);
  regionId = await api.region('north');
  storeA = await api.store('a-01', regionId);
  storeB = await api.store('b-01', regionId);
  agencyDraft = await api.draft({}, 'agency');
  const submitted = await request(app.url)
    .post(`/v1/communications/${agencyDraft.id}/submit`)
    .set(bearer(tokenFor(ns, 'agency')))
    .send({});
  expect(submitted.status).toBe(200);
  editorDraft = await api.draft();
  offsetsBefore = {
    events: await endOffsets(ns.env.KAFKA_BROKERS!, topics.events),
    storeEvents: await endOffsets(ns.env.KAFKA_BROKERS!, topics.storeEvents),
  };
});

afterAll(async () => {
  await app?.stop();
  await cleanupNamespace(ns);
});

it('has at least 30 cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(30);
});

it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
  const token = c.token ? c.token() : editor();
  let call = request(app.url)
    [c.method](c.path())
    .set({ ...(token ? bearer(token) : {}), ...(c.headers ?? {}) });
  if (c.raw !== undefined) call = call.set('content-type', 'application/json').send(c.raw);
  else if (c.body !== undefined) call = call.send(JSON.parse(JSON.stringify(c.body).replace('${region}', regionId)));
  const response = await call;
  expect({ status: response.status, body: response.body }).toMatchObject({ status: c.status });
  expect(response.body).toMatchObject({ statusCode: c.status, error: expect.any(String), message: expect.any(String) });
  if (c.fields) expect(Object.keys(response.body.fields ?? {})).toEqual(expect.arrayContaining(c.fields));
});

it('wrote nothing: the event topics end where they ended before the matrix', async () => {
  expect({
    events: await endOffsets(ns.env.KAFKA_BROKERS!, topics.events),
    storeEvents: await endOffsets(ns.env.KAFKA_BROKERS!, topics.storeEvents),
  }).toEqual(offsetsBefore);
});
