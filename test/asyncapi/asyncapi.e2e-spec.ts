import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { Parser } from '@asyncapi/parser';
import { JwtService } from '@nestjs/jwt';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import request from 'supertest';
import { parse } from 'yaml';
import {
  CONSOLE_NAMESPACE,
  EVENT_TYPES,
  FEED_BATCH,
  FEED_NOTICED_HEADER,
  TERMINAL_NAMESPACE,
  TOPICS,
  topicNames,
  type FeedBatchRecord,
  type Hello,
} from '@lastmeter/contracts';
import { createKafkaClient, readWholeTopic, type LoggedMessage } from '@lastmeter/kafka';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { feedHolds } from '../support/read-side';
import { StoreEventWriter } from '../support/store-events';
import { bearer, Publisher, tokenFor } from '../support/write-api';

/**
 * Issue 20, item 2: docs/asyncapi.yaml is valid AsyncAPI 3.0 (@asyncapi/parser), and it
 * describes what the apps really send. A scenario makes every message of the document
 * happen that can be made to happen in a test (all but `slow-consumer`, the `unavailable`
 * refusal, a DLQ `resolved` record and a feed record from before issue 16); every socket
 * message both ways (events, acks, handshakes, refusals) and every record of the suite's
 * Kafka topics (key, headers, value) is checked against the schema the document gives
 * for it. A message the document does not describe fails the test.
 */
const ROOT = join(__dirname, '..', '..');
const ns = testNamespace('asyncapi', { SURVEY_BATCH_MS: '300' });
const topics = topicNames(ns.topicPrefix);
const documentText = readFileSync(join(ROOT, 'docs/asyncapi.yaml'), 'utf8');

type Json = Record<string, unknown>;
/** What the document says: parsed YAML, read through its local `$ref`s. */
const document = parse(documentText) as Json;

function at(pointer: string): unknown {
  return pointer
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, part) => (node as Json | undefined)?.[part], document);
}

/** The node itself, or what its `$ref` points at (followed until a node without one). */
function deref<T = Json>(node: unknown): T {
  let current = node as Json;
  while (current && typeof current.$ref === 'string') {
    const target = at(current.$ref);
    if (target === undefined) throw new Error(`dangling $ref ${current.$ref}`);
    current = target as Json;
  }
  return current as T;
}

/** The pointer of a component message, from a channel's or an operation's reference to it. */
function componentPointer(node: unknown): string {
  let pointer = (node as Json).$ref as string;
  for (;;) {
    const target = at(pointer) as Json;
    if (typeof target?.$ref !== 'string') return pointer;
    pointer = target.$ref;
  }
}

interface DocumentedMessage {
  /** `#/components/messages/<id>`. */
  pointer: string;
  id: string;
  name?: string;
  message: Json;
}

interface Operation {
  action: 'send' | 'receive';
  channel: unknown;
  messages: unknown[];
  reply?: { messages: unknown[] };
}

const operations = Object.values(document.operations as Record<string, Operation>);
const channels = document.channels as Record<string, Json>;

function documented(node: unknown): DocumentedMessage {
  const pointer = componentPointer(node);
  const message = deref(node);
  return { pointer, id: pointer.split('/').pop()!, name: message.name as string | undefined, message };
}

/** The messages of a channel that some operation of `action` uses. */
function operationMessages(channel: string, action: 'send' | 'receive'): DocumentedMessage[] {
  return operations
    .filter((operation) => operation.action === action && deref(operation.channel) === channels[channel])
    .flatMap((operation) => operation.messages.map(documented));
}

/** The reply messages of the `receive` operations of `channel` whose message is named `event`. */
function replyMessages(channel: string, event: string): DocumentedMessage[] {
  return operations
    .filter((operation) => operation.action === 'receive' && deref(operation.channel) === channels[channel])
    .filter((operation) => operation.messages.map(documented).some((m) => m.name === event))
    .flatMap((operation) => (operation.reply?.messages ?? []).map(documented));
}

// Payloads are checked with the document itself as the schema root, so `#/components/schemas/…` resolve.
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema(document, 'asyncapi.json');
const compiled = new Map<string, ValidateFunction>();
function validator(pointer: string): ValidateFunction {
  let validate = compiled.get(pointer);
  if (!validate) {
    validate = ajv.compile({ $ref: `asyncapi.json${pointer}` });
    compiled.set(pointer, validate);
  }
  return validate;
}
function errorsOf(pointer: string, value: unknown): string | undefined {
  const validate = validator(pointer);
  return validate(value) ? undefined : ajv.errorsText(validate.errors, { dataVar: 'payload' });
}

// ---------------------------------------------------------------------------------------
// The capture: every socket message both ways.
// ---------------------------------------------------------------------------------------

type Channel = 'terminal' | 'console';
interface Captured {
  channel: Channel;
  /** `server`: the gateway emitted it; `client`: the client did (the handshake is `connect`); `ack`: an ack of `of`. */
  from: 'server' | 'client' | 'ack';
  event: string;
  of?: string;
  args: unknown[];
}
const captured: Captured[] = [];
const sockets: Socket[] = [];
/**
 * Payloads sent on purpose against the protocol (a handshake without a token, a receipt of
 * an unknown kind), to see the refusal: documented events, but not valid payloads.
 */
const probes = new WeakSet<object>();
const probe = <T extends object>(payload: T): T => {
  probes.add(payload);
  return payload;
};

function open(channel: Channel, auth: Json): Socket {
  const namespace = channel === 'terminal' ? TERMINAL_NAMESPACE : CONSOLE_NAMESPACE;
  const socket = io(`${apps.gateway.url}${namespace}`, {
    auth,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  captured.push({ channel, from: 'client', event: 'connect', args: [auth] });
  socket.onAny((event: string, ...args: unknown[]) => captured.push({ channel, from: 'server', event, args }));
  socket.onAnyOutgoing((event: string, ...args: unknown[]) => captured.push({ channel, from: 'client', event, args }));
  socket.on('connect_error', (error: Error & { data?: unknown }) =>
    captured.push({
      channel,
      from: 'ack',
      event: 'connect_error',
      of: 'connect',
      args: [{ message: error.message, data: error.data }],
    }),
  );
  return socket;
}

/** A terminal served: resolves with its `hello`. */
function terminal(auth: Json): Promise<{ socket: Socket; hello: Hello }> {
  const socket = open('terminal', auth);
  return new Promise((resolve, reject) => {
    socket.once('hello', (hello: Hello) => resolve({ socket, hello }));
    socket.once('connect_error', reject);
  });
}

function consoleSocket(token: string): Promise<Socket> {
  const socket = open('console', { token });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** The refusal reason of a handshake that must be refused. */
function refused(channel: Channel, auth: Json): Promise<string> {
  const socket = open(channel, auth);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error(`${channel} accepted ${JSON.stringify(auth)}`)));
    socket.once('connect_error', (error: Error & { data?: { reason: string } }) => resolve(error.data?.reason ?? ''));
  });
}

/** Emits with an ack callback and records the ack. */
async function ask<T = Json>(channel: Channel, socket: Socket, event: string, payload: unknown): Promise<T> {
  const answer = (await socket.timeout(15_000).emitWithAck(event, payload)) as T;
  captured.push({ channel, from: 'ack', event: `${event} (ack)`, of: event, args: [answer] });
  return answer;
}

let apps: Record<AppName, RunningApp>;
let api: Publisher;
const jwt = new JwtService({ secret: ns.env.LASTMETER_JWT_SECRET });
const admin = () => tokenFor(ns, 'hq-admin', { sub: 'admin:admin' });

/** A device token's claims, signed again with other times. */
function resign(token: string, times: { iat?: number; expiresIn: number | string }): string {
  const { iat: _iat, exp: _exp, iss: _iss, ...claims } = jwt.decode<Json>(token);
  return jwt.sign(
    { ...claims, ...(times.iat !== undefined ? { iat: times.iat } : {}) },
    { expiresIn: times.expiresIn as never, issuer: 'lastmeter' },
  );
}

const INJECTED_KEY = 'asyncapi-not-a-message';
let records: Array<LoggedMessage & { topic: string }> = [];

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

it('is valid AsyncAPI 3.0 (@asyncapi/parser)', async () => {
  expect(document.asyncapi).toBe('3.0.0');
  const diagnostics = await new Parser().validate(documentText);
  // Severity 0 is an error; warnings (1) and hints are printed when anything fails.
  const describe = (d: (typeof diagnostics)[number]) => `${d.severity} ${d.code} ${d.path.join('.')}: ${d.message}`;
  const errors = diagnostics.filter((d) => d.severity === 0).map(describe);
  const warnings = diagnostics.filter((d) => d.severity === 1).map(describe);
  expect({ errors, warnings }).toEqual({ errors: [], warnings: [] });
});

it('describes every socket message and Kafka record of a live scenario, each as it is', async () => {
  // --- Arrange: the directory, users, terminals, communications (events, commands, credentials).
  const region = await api.region('async');
  const storeId = await api.store('ASYNC-1', region);
  await api.updateStore(storeId, { name: 'Async store' });
  const user = await request(apps.command.url)
    .post('/v1/users')
    .set(bearer(admin()))
    .send({ username: 'async-user', password: 'async-password-1', role: 'hq-editor' })
    .expect(201);
  const userId = user.body.id as string;
  await request(apps.command.url)
    .post(`/v1/users/${userId}/password`)
    .set(bearer(admin()))
    .send({ password: 'async-password-2' })
    .expect(200);
  await request(apps.command.url)
    .patch(`/v1/users/${userId}`)
    .set(bearer(admin()))
    .send({ role: 'analyst' })
    .expect(200);
  await request(apps.command.url).post(`/v1/users/${userId}/disable`).set(bearer(admin())).send({}).expect(200);
  await request(apps.command.url).post(`/v1/users/${userId}/enable`).set(bearer(admin())).send({}).expect(200);
  // A staff member: a person key, a PIN, and erasure's tombstones (person-keys, credentials).
  await api.staffLifecycle(storeId, { name: 'Async Person', roles: ['sales'], pin: '2468' }, { name: 'Async Persona' });

  const device = await api.terminal(storeId);
  const other = await api.terminal(storeId);
  const doomed = await api.terminal(storeId);

  const notice = await api.publish({ title: 'Async notice', audience: { storeIds: [storeId] } });
  await api.publish({ title: 'Cashiers only', audience: { storeIds: [storeId], roles: ['cashier'] } });
  const quiz = await api.draft(
    {
      kind: 'training',
      title: 'Async quiz',
      audience: { storeIds: [storeId] },
      questions: [{ prompt: 'Two plus two?', options: ['3', '4'], answer: 1 }],
    },
    'agency',
  );
  await api.send('patch', `/v1/communications/${quiz.id}`, { title: 'Async quiz, revised' }, 'agency');
  await api.send('post', `/v1/communications/${quiz.id}/submit`, {}, 'agency');
  await api.send('post', `/v1/communications/${quiz.id}/reject`, { reason: 'typo' });
  await api.send('post', `/v1/communications/${quiz.id}/submit`, {}, 'agency');
  await api.send('post', `/v1/communications/${quiz.id}/approve`, {});
  await api.send('post', `/v1/communications/${quiz.id}/publish`, {
    expiresAt: new Date(Date.now() + 12_000).toISOString(),
  });
  await api.send('post', `/v1/communications/${(await api.draft({ audience: { storeIds: [storeId] } })).id}/publish`, {
    publishAt: new Date(Date.now() + 2_000).toISOString(),
  });
  const task = await api.publish({
    kind: 'task',
    title: 'Async task',
    audience: { storeIds: [storeId] },
    dueAt: new Date(Date.now() + 86_400_000).toISOString(),
  });

  // A suggested task a store manager assigns and dismisses (issue 21): task.assigned, task.dismissed.
  const suggested = await api.publish({
    kind: 'task',
    title: 'Async suggested task',
    audience: { storeIds: [storeId] },
    dueAt: new Date(Date.now() + 86_400_000).toISOString(),
    mandate: 'suggested',
  });
  const assignee = await request(apps.command.url)
    .post(`/v1/stores/${storeId}/staff`)
    .set(bearer(admin()))
    .send({ name: 'Async Assignee', roles: ['stock'], pin: '1357' })
    .expect(201);
  const storeManager = bearer(tokenFor(ns, 'store-manager', { storeId }));
  await eventually(() =>
    request(apps.command.url)
      .post(`/v1/stores/${storeId}/tasks/${suggested}/assign`)
      .set(storeManager)
      .send({ staffIds: [assignee.body.id] })
      .expect(200),
  );
  await request(apps.command.url)
    .post(`/v1/stores/${storeId}/tasks/${suggested}/dismiss`)
    .set(storeManager)
    .send({ reason: 'Not for this store' })
    .expect(200);

  // Due in a moment, with a person who has not acknowledged it: communication.due-reached, `reminder`.
  await api.publish({
    title: 'Async due soon',
    audience: { storeIds: [storeId] },
    dueAt: new Date(Date.now() + 4_000).toISOString(),
  });
  // A pulse survey, answered by a person signed in on the tablet (survey.answer, survey.answered).
  const survey = await api.publish({
    kind: 'survey',
    title: 'Async pulse',
    audience: { storeIds: [storeId] },
    survey: {
      questions: [
        { type: 'scale', prompt: 'How was the week?' },
        { type: 'text', prompt: 'Anything else?' },
      ],
    },
  });

  // --- Consoles: one watching, one whose token expires, the refusals.
  const board = await consoleSocket(admin());
  const shortBoard = await consoleSocket(tokenFor(ns, 'hq-admin', { expiresIn: '3s' }));
  expect(shortBoard.connected).toBe(true);
  expect(await refused('console', probe({}))).toBe('token-missing');
  expect(await refused('console', { token: 'not-a-jwt' })).toBe('token-invalid');
  expect(await refused('console', { token: device.token })).toBe('forbidden');
  await eventually(async () =>
    expect(await refused('console', { token: tokenFor(ns, 'analyst', { sub: userId }) })).toBe('session-ended'),
  );

  // --- Terminals: the live set in chunks, one item per message after a foreign cursor (reset), a backlog in one message, refusals.
  // The handshake reads the live set and head from the read side: wait for the last publish there.
  await feedHolds(apps.gateway.url, admin(), storeId, survey);
  const chunked = await terminal({ token: device.token, snapshotChunks: true });
  expect(chunked.hello.snapshot).toBeGreaterThan(0);
  const single = await terminal({ token: other.token, cursor: '1', epoch: 'not-this-epoch' });
  // A backlog (everything after feedSeq 1) to a terminal that takes items several at once.
  expect(chunked.hello.headSeq).toBeGreaterThan(2);
  const batched = await terminal({ token: device.token, cursor: '1', epoch: chunked.hello.epoch, feedBatches: true });
  await eventually(() => expect(captured.some((c) => c.event === 'feed.items')).toBe(true));
  batched.socket.close();
  const doomedSocket = await terminal({ token: doomed.token });
  expect(await refused('terminal', probe({}))).toBe('token-missing');
  expect(await refused('terminal', { token: 'not-a-jwt' })).toBe('token-invalid');
  expect(await refused('terminal', { token: resign(device.token, { expiresIn: '-1s' }) })).toBe('token-expired');
  expect(await refused('terminal', { token: admin() })).toBe('not-a-terminal');
  expect(await refused('terminal', { token: device.token, cursor: '-1' })).toBe('bad-cursor');
  // Renewal with hello (a token past half its age), and live (one that gets there in 3 s).
  const now = Math.floor(Date.now() / 1_000);
  const renewed = await terminal({ token: resign(other.token, { iat: now - 20 * 86_400, expiresIn: '30d' }) });
  expect(renewed.hello.token).toEqual(expect.any(String));
  renewed.socket.close();
  const renewing = await terminal({ token: resign(other.token, { iat: now - 15 * 86_400 + 3, expiresIn: '30d' }) });
  const expiring = await terminal({ token: resign(device.token, { expiresIn: 3 }) });

  // --- The console watches; the terminal reads earlier items and sends every fact.
  const watched = await ask<Json>('console', board, 'watch', { communicationId: notice });
  expect(watched).toMatchObject({ ok: true });
  expect(await ask('console', board, 'watch', { communicationId: 'not-a-uuid' })).toMatchObject({ ok: false });
  const { socket } = chunked;
  const live = await api.publish({ title: 'Async live', audience: { storeIds: [storeId] } });
  await eventually(() =>
    expect(
      captured.some(
        (c) => c.event === 'feed' && (c.args[0] as Json).communication && JSON.stringify(c.args[0]).includes(live),
      ),
    ).toBe(true),
  );
  expect(await ask('terminal', socket, 'feed.earlier', { before: chunked.hello.headSeq + 1, limit: 2 })).toMatchObject({
    ok: true,
  });
  expect(await ask('terminal', socket, 'feed.earlier', { before: 0 })).toMatchObject({ ok: false });
  expect(await ask('terminal', socket, 'receipt', { communicationId: notice, kind: 'delivered', revision: 1 })).toEqual(
    {
      ok: true,
    },
  );
  expect(await ask('terminal', socket, 'receipt', { communicationId: notice, kind: 'delivered', revision: 1 })).toEqual(
    {
      ok: true,
      duplicate: true,
    },
  );
  expect(
    await ask('terminal', socket, 'receipt', probe({ communicationId: notice, kind: 'seen', revision: 1 })),
  ).toMatchObject({
    ok: false,
  });
  const batch = await ask<Json>('terminal', socket, 'receipts', {
    items: [
      { communicationId: notice, kind: 'read', revision: 1 },
      { communicationId: notice, kind: 'acknowledged', revision: 1 },
      { communicationId: notice, kind: 'read', revision: 99 },
    ],
  });
  expect((batch.results as Json[]).map((r) => r.ok)).toEqual([true, true, false]);
  expect(await ask('terminal', socket, 'receipts', { items: [] })).toMatchObject({ ok: false });
  const quizRevision = Math.max(
    0,
    ...captured
      .filter((c) => c.event === 'feed.snapshot')
      .flatMap((c) => (c.args[0] as { items: Array<{ communication?: { id: string; revision: number } }> }).items)
      .filter((item) => item.communication?.id === quiz.id)
      .map((item) => item.communication!.revision),
  );
  expect(quizRevision).toBeGreaterThan(0);
  expect(
    await ask('terminal', socket, 'quiz.answer', { communicationId: quiz.id, revision: quizRevision, answers: [1] }),
  ).toEqual({ ok: true });
  expect(await ask('terminal', socket, 'task.complete', { communicationId: task, revision: 1, note: 'done' })).toEqual({
    ok: true,
  });
  const signedIn = await request(apps.command.url)
    .post(`/v1/stores/${storeId}/staff/${assignee.body.id}/sign-in`)
    .set(bearer(device.token))
    .send({ pin: '1357' })
    .expect(200);
  expect(
    await ask('terminal', socket, 'survey.answer', {
      communicationId: survey,
      revision: 1,
      answers: [4, 'More light in the stockroom'],
      staff: signedIn.body.token,
    }),
  ).toEqual({ ok: true });
  expect(await ask('terminal', socket, 'report.file', { title: 'Async report', body: 'All good' })).toEqual({
    ok: true,
  });
  await api.send('post', `/v1/communications/${task}/evidence/${storeId}/reject`, { reason: 'Recount, please' });
  await api.retract(task);
  await eventually(() =>
    expect(['reach', 'presence', 'report'].filter((e) => !captured.some((c) => c.event === e))).toEqual([]),
  );
  expect(await ask('console', board, 'unwatch', { communicationId: notice })).toEqual({ ok: true });

  // --- Revocation of a connected terminal, then its refusal.
  await api.revokeTerminal(doomed.terminalId);
  await eventually(() => expect(captured.some((c) => c.event === 'revoked')).toBe(true));
  await eventually(() => expect(doomedSocket.socket.connected).toBe(false));
  await eventually(async () => expect(await refused('terminal', { token: doomed.token })).toBe('terminal-revoked'));

  // --- A record no projector can apply: the DLQ gets a dead letter (the record itself is ours, not a message).
  const writer = new StoreEventWriter(ns);
  await writer.send(INJECTED_KEY, ['{ not json']);
  await writer.close();

  // --- The token lifetimes, the scheduler (scheduled publish, expiry), presence going down.
  await eventually(
    () =>
      expect(
        ['token', 'token-expired'].filter(
          (event) => !captured.some((c) => c.event === event && c.channel === 'terminal'),
        ),
      ).toEqual([]),
    { timeoutMs: 15_000 },
  );
  expect(captured.some((c) => c.event === 'token-expired' && c.channel === 'console')).toBe(true);
  expect(expiring.socket.connected).toBe(false);
  // The due item's reminder reaches the tablet while it is still connected.
  await eventually(() => expect(captured.some((c) => c.event === 'reminder')).toBe(true), { timeoutMs: 30_000 });
  renewing.socket.close();
  single.socket.close();
  socket.close();
  await eventually(
    async () => {
      records = await readAll();
      const types = new Set(records.flatMap(eventTypesOf));
      expect(EVENT_TYPES.filter((type) => !types.has(type))).toEqual([]);
      expect(records.some((r) => r.topic === topics.dlq)).toBe(true);
    },
    { timeoutMs: 45_000, what: 'every event type and a dead letter in Kafka' },
  );

  // --- Every socket message is documented, in its direction, and valid against its schema.
  const problems: string[] = [];
  const covered = new Set<string>();
  for (const c of captured) {
    const where = `${c.channel} ${c.from} ${c.event}`;
    if (c.args.length !== 1) problems.push(`${where}: ${c.args.length} arguments, the document describes one payload`);
    const candidates =
      c.from === 'ack'
        ? replyMessages(c.channel, c.of!)
        : operationMessages(c.channel, c.from === 'server' ? 'send' : 'receive').filter((m) => m.name === c.event);
    if (candidates.length === 0) {
      problems.push(`${where}: not in the document`);
      continue;
    }
    if (c.from === 'client' && probes.has(c.args[0] as object)) continue;
    const errors = candidates.map((m) => errorsOf(`${m.pointer}/payload`, c.args[0]));
    const match = candidates.find((_, i) => errors[i] === undefined);
    if (match) covered.add(match.id);
    else problems.push(`${where} ${JSON.stringify(c.args[0]).slice(0, 300)}: ${errors.join(' | ')}`);
  }

  // --- Every Kafka record (key, headers, value) is one of its topic's documented messages.
  for (const record of records) {
    if (record.topic === topics.storeEvents && record.key?.toString() === INJECTED_KEY) continue;
    const channel = Object.values(channels).find(
      (ch) => String(ch.address).replace('{prefix}', ns.topicPrefix) === record.topic,
    );
    if (!channel) {
      problems.push(`${record.topic}: no channel`);
      continue;
    }
    const headers = Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, String(v)]));
    const value = record.value === null ? null : (JSON.parse(record.value.toString()) as unknown);
    const key = record.key === null ? null : record.key.toString();
    const candidates = Object.values(channel.messages as Json).map(documented);
    const errorsFor = (m: DocumentedMessage) =>
      [
        m.message.headers
          ? errorsOf(`${m.pointer}/headers`, headers)
          : Object.keys(headers).length
            ? 'headers the message does not describe'
            : undefined,
        errorsOf(`${m.pointer}/bindings/kafka/key`, key),
        errorsOf(`${m.pointer}/payload`, value),
      ].filter((e): e is string => e !== undefined);
    const match = candidates.find((m) => errorsFor(m).length === 0);
    if (match) {
      covered.add(match.id);
      continue;
    }
    const named = candidates.filter((m) => m.name !== undefined && m.name === (headers.type ?? headers.kind));
    problems.push(
      `${record.topic} ${key} ${JSON.stringify(headers)} ${JSON.stringify(value).slice(0, 300)}: ` +
        (named.length
          ? named.map((m) => `${m.id}: ${errorsFor(m).join('; ')}`).join(' | ')
          : 'no message of that kind'),
    );
  }
  expect(problems).toEqual([]);
  // The notice on commit carried the scenario's small publishes whole, and their feed
  // records say so (what lets a projector with PROJECTOR_LINGER_MS wait over them).
  expect(
    records.some((record) => record.topic === topics.feed && String(record.headers[FEED_NOTICED_HEADER]) === 'true'),
  ).toBe(true);

  // --- What the scenario must have covered: every message of the document but those a test cannot provoke.
  const notProvoked = ['terminal.slow-consumer', 'dlq.resolved', 'feed.feed.appended.legacy'];
  const all = Object.keys((document.components as Json).messages as Json);
  expect(notProvoked.filter((id) => !all.includes(id))).toEqual([]);
  expect(all.filter((id) => !covered.has(id) && !notProvoked.includes(id))).toEqual([]);
  // The refusal reasons this scenario provoked, each a documented message.
  const reasons = captured
    .filter((c) => c.event === 'connect_error')
    .map((c) => `${c.channel}:${((c.args[0] as Json).data as Json).reason as string}`);
  expect(new Set(reasons)).toEqual(
    new Set([
      'console:token-missing',
      'console:token-invalid',
      'console:forbidden',
      'console:session-ended',
      'terminal:token-missing',
      'terminal:token-invalid',
      'terminal:token-expired',
      'terminal:not-a-terminal',
      'terminal:bad-cursor',
      'terminal:terminal-revoked',
    ]),
  );
  // And every terminal emit named in the brief, both ways.
  for (const event of [
    'receipt',
    'receipts',
    'task.complete',
    'quiz.answer',
    'survey.answer',
    'report.file',
    'feed.earlier',
  ]) {
    expect(
      captured.filter((c) => c.channel === 'terminal' && c.of === event && c.from === 'ack').length,
    ).toBeGreaterThan(0);
  }
});

/** Every record of the suite's topics, with its topic. */
async function readAll(): Promise<Array<LoggedMessage & { topic: string }>> {
  const kafka = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test-asyncapi' });
  const all: Array<LoggedMessage & { topic: string }> = [];
  for (const role of Object.keys(TOPICS) as Array<keyof typeof TOPICS>) {
    for (const record of await readWholeTopic(kafka, topics[role])) all.push({ ...record, topic: topics[role] });
  }
  return all;
}

/** The event types a record carries (a feed batch: `feed.appended`, once per entry). */
function eventTypesOf(record: LoggedMessage & { topic: string }): string[] {
  if (record.topic !== topics.events && record.topic !== topics.storeEvents && record.topic !== topics.feed) return [];
  if (!record.value || (record.topic === topics.storeEvents && record.key?.toString() === INJECTED_KEY)) return [];
  const value = JSON.parse(record.value.toString()) as { type: string } | FeedBatchRecord;
  return value.type === FEED_BATCH ? (value as FeedBatchRecord).entries.map(() => 'feed.appended') : [value.type];
}
