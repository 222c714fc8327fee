import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { JwtService } from '@nestjs/jwt';
import { io, type Socket } from 'socket.io-client';
import {
  CONSOLE_NAMESPACE,
  RATE_LIMITED,
  TERMINAL_NAMESPACE,
  topicNames,
  type Ack,
  type DomainEvent,
  type FeedMessage,
  type Hello,
} from '@lastmeter/contracts';
import { ConnectRefused, TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { expectNothingWritten, writeSnapshot, type WriteSnapshot } from '../support/no-writes';
import { bearer, Publisher, tokenFor } from '../support/write-api';

/**
 * Abuse limits of /terminal (and token lifetime on /console): the per-terminal message
 * budget and flood cut-off, the report quota, the socket cap, receipts checked against
 * the store's feed and the communication's revision, message size and shape, device
 * token expiry, renewal and maximum age, and which tokens each namespace accepts.
 */
const BURST = 10;
const RATE = 1;
const STRIKES = 20;
const REPORTS_PER_HOUR = 3;
const ns = testNamespace('terminal-limits', {
  TERMINAL_MESSAGE_BURST: String(BURST),
  TERMINAL_MESSAGE_RATE: String(RATE),
  TERMINAL_FLOOD_STRIKES: String(STRIKES),
  TERMINAL_REPORTS_PER_HOUR: String(REPORTS_PER_HOUR),
  TERMINAL_MAX_SOCKETS: '2',
});
const topics = topicNames(ns.topicPrefix);
const jwt = new JwtService({ secret: ns.env.LASTMETER_JWT_SECRET });
const DAY_S = 86_400;
const MAX_AGE_DAYS = 30; // DEVICE_TOKEN_MAX_AGE_DAYS default
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let storeA: string, storeB: string;
const clients: TerminalClient[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
  const region = await api.region('limits');
  storeA = await api.store('LA', region);
  storeB = await api.store('LB', region);
});

afterAll(async () => {
  for (const client of clients) client.close();
  for (const socket of sockets) socket.disconnect();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connected TerminalClient (no reconnection) that records its feed. */
async function terminal(storeId: string) {
  const { token } = await api.terminal(storeId);
  const received: FeedMessage[] = [];
  const client = new TerminalClient({ url: apps.gateway.url, token, reconnection: false });
  clients.push(client);
  client.onItem((item) => received.push(item));
  const hello = await client.connect();
  /** One message as sent, its ack as answered: no retry of rate-limited acks. */
  const raw = (event: string, payload: unknown) =>
    client.socket.timeout(5_000).emitWithAck(event, payload) as Promise<Ack>;
  return { client, received, hello, token, terminalId: hello.terminalId, raw };
}
type Terminal = Awaited<ReturnType<typeof terminal>>;

const idsOf = (received: FeedMessage[]) => received.map((m) => ('communication' in m ? m.communication.id : 'hidden'));

/** Publishes to one store and waits until the terminals have the item and the gateway would accept facts on it. */
async function published(storeId: string, ...terminals: Terminal[]): Promise<string> {
  const id = await api.publish({ title: `for ${storeId}`, audience: { storeIds: [storeId] } });
  await eventually(() => {
    for (const t of terminals) expect(idsOf(t.received)).toContain(id);
  });
  await accepting(id, storeId, 1);
  return id;
}

/** The read side knows the communication at `revision` and that it was in the store's feed. */
async function accepting(communicationId: string, storeId: string, revision: number): Promise<void> {
  await eventually(async () => {
    const response = await fetch(`${apps.gateway.url}/v1/communications/${communicationId}/reach`, {
      headers: bearer(tokenFor(ns, 'analyst')),
    });
    expect(response.status).toBe(200);
    const reach = (await response.json()) as {
      revision: number;
      byStore: Array<{ storeId: string; targeted: boolean }>;
    };
    expect(reach.revision).toBe(revision);
    expect(reach.byStore).toContainEqual(expect.objectContaining({ storeId, targeted: true }));
  });
}

/** Waits until every terminal shows online (its terminal.connected fact is written and projected). */
async function online(...terminals: Terminal[]): Promise<void> {
  await eventually(async () => {
    for (const t of terminals) {
      const response = await fetch(`${apps.gateway.url}/v1/presence?storeId=${t.hello.storeId}`, {
        headers: bearer(tokenFor(ns, 'analyst')),
      });
      const body = (await response.json()) as { items: Array<{ online: Array<{ terminalId: string }> }> };
      expect(body.items[0].online.map((o) => o.terminalId)).toContain(t.terminalId);
    }
  });
}

/** A write snapshot once nothing moves any more (presence facts and their projection have landed). */
async function settledSnapshot(): Promise<WriteSnapshot> {
  let last = await writeSnapshot(ns);
  return eventually(
    async () => {
      await sleep(500);
      const next = await writeSnapshot(ns);
      const same = isDeepStrictEqual(next.offsets, last.offsets) && isDeepStrictEqual(next.keys, last.keys);
      last = next;
      expect(same).toBe(true);
      return next;
    },
    { intervalMs: 0, what: 'Kafka and Redis to settle' },
  );
}

/** Store-activity facts that a terminal wrote. */
async function factsOf(terminalId: string, type: string): Promise<DomainEvent[]> {
  return (await readTopic<DomainEvent>(ns.env.KAFKA_BROKERS!, topics.storeEvents))
    .map((m) => m.value)
    .filter((e) => e.type.startsWith(type) && e.actor.id === terminalId);
}

/** The claims of an enrolled device token, re-signed with other times (as an older or shorter-lived token). */
function resign(token: string, times: { iat?: number; expiresIn: number | string }): string {
  const { iat: _iat, exp: _exp, iss: _iss, ...claims } = jwt.decode<Record<string, unknown>>(token);
  return jwt.sign(
    { ...claims, ...(times.iat !== undefined ? { iat: times.iat } : {}) },
    { expiresIn: times.expiresIn as never, issuer: 'lastmeter' },
  );
}

/** What a plain socket.io client saw: token-expired and disconnect, in order. */
interface Watched {
  socket: Socket;
  hello?: Hello;
  seen: string[];
}

/** A plain socket.io client (no TerminalClient behaviour) on a namespace; resolves once it is served. */
function watch(namespace: string, token: string): Promise<Watched> {
  const socket = io(`${apps.gateway.url}${namespace}`, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  const watched: Watched = { socket, seen: [] };
  socket.on('token-expired', (body: { reason: string }) => watched.seen.push(`token-expired:${body.reason}`));
  socket.on('disconnect', (reason) => watched.seen.push(`disconnect:${reason}`));
  return new Promise((resolve, reject) => {
    socket.once('connect_error', reject);
    if (namespace === TERMINAL_NAMESPACE) {
      socket.once('hello', (hello: Hello) => {
        watched.hello = hello;
        resolve(watched);
      });
    } else {
      socket.once('connect', () => resolve(watched));
    }
  });
}

/** The connect_error of a connection that must be refused. */
async function refusal(namespace: string, token: string): Promise<Error & { data?: { reason?: string } }> {
  return watch(namespace, token).then(
    () => {
      throw new Error(`connected to ${namespace}`);
    },
    (error: Error & { data?: { reason?: string } }) => error,
  );
}

const rateLimited: Ack = { ok: false, error: { message: RATE_LIMITED } };

describe('message budget', () => {
  it('acks exactly the burst of a flooding terminal and refuses the rest, while another terminal of the store is served', async () => {
    const a = await terminal(storeA);
    const b = await terminal(storeA);
    const communications: string[] = [];
    for (let i = 0; i < 5; i++) communications.push(await published(storeA, a, b));
    const receipts = communications.flatMap((communicationId) =>
      (['delivered', 'read', 'acknowledged'] as const).map((kind) => ({ communicationId, kind, revision: 1 })),
    );
    expect(receipts.length).toBeGreaterThan(BURST);
    const [flood, quiet] = await Promise.all([
      Promise.all(receipts.map((receipt) => a.raw('receipt', receipt))),
      Promise.all(receipts.slice(0, 3).map((receipt) => b.raw('receipt', receipt))),
    ]);
    expect(flood.slice(0, BURST)).toEqual(Array.from({ length: BURST }, () => ({ ok: true })));
    expect(flood.slice(BURST)).toEqual(Array.from({ length: receipts.length - BURST }, () => rateLimited));
    expect(quiet).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    // The log holds A's accepted receipts and nothing of the refused ones.
    const recorded = (await factsOf(a.terminalId, 'receipt.')).map((e) => {
      const data = e.data as { communicationId: string };
      return `${data.communicationId}/${e.type}`;
    });
    const accepted = receipts.slice(0, BURST).map((r) => `${r.communicationId}/receipt.${r.kind}`);
    expect(recorded.sort()).toEqual(accepted.sort());
  });

  it('disconnects a terminal that keeps flooding past the strikes; another terminal is unaffected', async () => {
    const flooder = await terminal(storeB);
    const other = await terminal(storeB);
    const communicationId = await published(storeB, flooder, other);
    const disconnected = new Promise<string>((resolve) => flooder.client.socket.once('disconnect', resolve));
    const sent = BURST + STRIKES + 10;
    const receipt = { communicationId, kind: 'read' as const, revision: 1 };
    const [acks, otherAck] = await Promise.all([
      Promise.allSettled(Array.from({ length: sent }, () => flooder.raw('receipt', receipt))),
      other.raw('receipt', receipt),
    ]);
    expect(await disconnected).toBe('io server disconnect');
    // Messages are judged in the order they arrive: the burst is taken (its answers come
    // after the writes, so the cut-off may overtake them), then STRIKES refusals, then one
    // more refusal cuts the socket off: nothing after it is answered.
    for (const ack of acks.slice(0, BURST)) {
      if (ack.status === 'fulfilled') expect(ack.value.ok).toBe(true);
    }
    expect(acks.slice(BURST, BURST + STRIKES + 1)).toEqual(
      Array.from({ length: STRIKES + 1 }, () => ({ status: 'fulfilled', value: rateLimited })),
    );
    expect(acks.slice(BURST + STRIKES + 1).map((ack) => ack.status)).toEqual(
      Array.from({ length: sent - BURST - STRIKES - 1 }, () => 'rejected'),
    );
    expect(otherAck).toEqual({ ok: true });
    expect(other.client.socket.connected).toBe(true);
    expect(await other.raw('receipt', { ...receipt, kind: 'acknowledged' })).toEqual({ ok: true });
  });

  it('gives tokens back at the configured rate', async () => {
    const t = await terminal(storeA);
    const communicationId = await published(storeA, t);
    // Spend the burst on messages that are answered (invalid ones: no write), then one more.
    const spent = await Promise.all(Array.from({ length: BURST }, () => t.raw('receipt', {})));
    for (const ack of spent) expect(ack.error?.fields).toBeDefined();
    const receipt = { communicationId, kind: 'read' as const, revision: 1 };
    expect(await t.raw('receipt', receipt)).toEqual(rateLimited);
    await sleep((2.5 * 1_000) / RATE);
    expect(await t.raw('receipt', receipt)).toEqual({ ok: true });
  });
});

describe('facts checked against the feed', () => {
  it('refuses a receipt for a revision newer than the communication’s, writing nothing; accepts the current one', async () => {
    const t = await terminal(storeA);
    const communicationId = await published(storeA, t);
    await api.revise(communicationId, { body: 'Second revision' });
    await eventually(() =>
      expect(t.received.some((m) => 'communication' in m && m.communication.revision === 2)).toBe(true),
    );
    await accepting(communicationId, storeA, 2);
    await online(t);
    const before = await settledSnapshot();
    const ahead = await t.raw('receipt', { communicationId, kind: 'read', revision: 3 });
    expect(ahead).toEqual({
      ok: false,
      error: { message: expect.any(String), fields: { revision: [expect.stringContaining('(2)')] } },
    });
    const task = await t.raw('task.complete', { communicationId, revision: 3 });
    expect(task.error?.fields?.revision).toEqual([expect.stringContaining('revision')]);
    await expectNothingWritten(ns, before);
    expect(await t.raw('receipt', { communicationId, kind: 'read', revision: 2 })).toEqual({ ok: true });
  });

  it('refuses receipts and task evidence for a communication of another store, writing nothing', async () => {
    const t = await terminal(storeA);
    const elsewhere = await terminal(storeB);
    const communicationId = await published(storeB, elsewhere);
    await online(t, elsewhere);
    const before = await settledSnapshot();
    const notInFeed = { ok: false, error: { message: expect.stringContaining("not in this store's feed") } };
    expect(await t.raw('receipt', { communicationId, kind: 'delivered', revision: 1 })).toEqual(notInFeed);
    expect(await t.raw('task.complete', { communicationId, revision: 1, note: 'done' })).toEqual(notInFeed);
    await expectNothingWritten(ns, before);
  });
});

describe('field reports', () => {
  it(`refuses a terminal’s report beyond ${REPORTS_PER_HOUR} an hour, writing nothing; resends are free and other terminals still file`, async () => {
    const t = await terminal(storeA);
    const other = await terminal(storeA);
    const report = (reportId: string) => ({ reportId, title: 'Broken freezer', body: `aisle ${reportId}` });
    const [first, second, third, fourth] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    expect(await t.raw('report.file', report(first))).toEqual({ ok: true });
    expect(await t.raw('report.file', report(second))).toEqual({ ok: true });
    // A resend of a filed report is answered as such and takes no slot: a third still fits.
    expect(await t.raw('report.file', report(first))).toEqual({ ok: true, duplicate: true });
    expect(await t.raw('report.file', report(third))).toEqual({ ok: true });
    await online(t, other);
    const before = await settledSnapshot();
    const refused = await t.raw('report.file', report(fourth));
    expect(refused).toEqual({
      ok: false,
      error: { message: expect.stringMatching(new RegExp(`report limit.*${REPORTS_PER_HOUR} reports an hour`)) },
    });
    await expectNothingWritten(ns, before);
    // A resend of a filed report is still answered as a duplicate with the quota spent.
    expect(await t.raw('report.file', report(first))).toEqual({ ok: true, duplicate: true });
    expect(await other.raw('report.file', report(randomUUID()))).toEqual({ ok: true });
    const filed = (await factsOf(t.terminalId, 'report.filed')).map((e) => (e.data as { reportId: string }).reportId);
    expect(filed.sort()).toEqual([first, second, third].sort());
  });
});

describe('sockets per terminal', () => {
  it('drops the oldest socket when a third connects with the same device token', async () => {
    const { token } = await api.terminal(storeB);
    const first = await watch(TERMINAL_NAMESPACE, token);
    const second = await watch(TERMINAL_NAMESPACE, token);
    expect(first.socket.connected).toBe(true);
    const third = await watch(TERMINAL_NAMESPACE, token);
    await eventually(() => expect(first.seen).toEqual(['disconnect:io server disconnect']));
    // The two newest are still served.
    for (const kept of [second, third]) {
      expect(kept.socket.connected).toBe(true);
      const ack = (await kept.socket.timeout(5_000).emitWithAck('receipt', {})) as Ack;
      expect(ack.error?.fields).toBeDefined();
      expect(kept.seen).toEqual([]);
    }
  });
});

describe('message size and shape', () => {
  it('refuses oversized messages and unknown or mistyped fields, with per-field errors, writing nothing', async () => {
    const t = await terminal(storeA);
    const communicationId = await published(storeA, t);
    await online(t);
    const before = await settledSnapshot();
    const tooLarge = { ok: false, error: { message: expect.stringContaining(`larger than ${16 * 1024} bytes`) } };
    expect(await t.raw('report.file', { title: 'big', body: 'x'.repeat(20_000) })).toEqual(tooLarge);
    expect(await t.raw('receipt', { communicationId, kind: 'read', revision: 1, pad: 'x'.repeat(17_000) })).toEqual(
      tooLarge,
    );
    const mistyped = await t.raw('receipt', { communicationId, kind: 'read', revision: '1', colour: 'red' });
    expect(mistyped.ok).toBe(false);
    expect(Object.keys(mistyped.error?.fields ?? {}).sort()).toEqual(['colour', 'revision']);
    const task = await t.raw('task.complete', { communicationId, revision: 1.5, note: 42 });
    expect(Object.keys(task.error?.fields ?? {}).sort()).toEqual(['note', 'revision']);
    const report = await t.raw('report.file', { title: 7, body: 'body' });
    expect(Object.keys(report.error?.fields ?? {})).toEqual(['title']);
    await expectNothingWritten(ns, before);
  });
});

describe('device token lifetime', () => {
  it('disconnects a terminal when its token expires, with token-expired, and refuses the token afterwards', async () => {
    const device = await api.terminal(storeA);
    const shortLived = resign(device.token, { expiresIn: 3 });
    const t = await watch(TERMINAL_NAMESPACE, shortLived);
    expect(t.hello).toMatchObject({ terminalId: device.terminalId, storeId: storeA });
    await eventually(() => expect(t.seen).toEqual(['token-expired:token-expired', 'disconnect:io server disconnect']), {
      timeoutMs: 10_000,
    });
    expect((await refusal(TERMINAL_NAMESPACE, shortLived)).data?.reason).toBe('token-expired');
  });

  it('renews a token past half its maximum age with hello; a young token gets none', async () => {
    const device = await api.terminal(storeB, ['cashier']);
    const issuedAt = Math.floor(Date.now() / 1_000);
    const old = resign(device.token, { iat: issuedAt - 20 * DAY_S, expiresIn: `${MAX_AGE_DAYS}d` });
    const renewals: string[] = [];
    const client = new TerminalClient({ url: apps.gateway.url, token: old, reconnection: false });
    clients.push(client);
    client.onToken((token) => renewals.push(token));
    const hello = await client.connect();
    expect(hello.token).toEqual(expect.any(String));
    // Signed with the suite secret, same identity as the enrolled token, issued now for the maximum age.
    const { iat, exp, iss, ...identity } = jwt.verify<Record<string, unknown>>(hello.token!, { issuer: 'lastmeter' });
    const { iat: _iat, exp: _exp, iss: _iss, ...enrolledIdentity } = jwt.decode<Record<string, unknown>>(device.token);
    expect(identity).toEqual(enrolledIdentity);
    expect(identity).toMatchObject({ sub: device.terminalId, role: 'terminal', storeId: storeB, roles: ['cashier'] });
    expect(iss).toBe('lastmeter');
    expect(iat).toBeGreaterThanOrEqual(issuedAt);
    expect(iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1_000));
    expect((exp as number) - (iat as number)).toBe(MAX_AGE_DAYS * DAY_S);
    expect(renewals).toEqual([hello.token]);
    expect(client.currentToken).toBe(hello.token);
    client.close();

    // The renewed token is young: accepted, and not renewed again; nor is the enrolled one.
    for (const token of [hello.token!, device.token]) {
      const young = new TerminalClient({ url: apps.gateway.url, token, reconnection: false });
      clients.push(young);
      const youngRenewals: string[] = [];
      young.onToken((renewal) => youngRenewals.push(renewal));
      const youngHello = await young.connect();
      expect(youngHello.terminalId).toBe(device.terminalId);
      expect(youngHello.token).toBeUndefined();
      expect(youngRenewals).toEqual([]);
      young.close();
    }
  });

  it('refuses a token past its maximum age even when its exp is still ahead (a legacy 365-day token)', async () => {
    const device = await api.terminal(storeA);
    const legacy = resign(device.token, { iat: Math.floor(Date.now() / 1_000) - 40 * DAY_S, expiresIn: '365d' });
    expect(jwt.decode<{ exp: number }>(legacy).exp * 1_000).toBeGreaterThan(Date.now());
    let expired = 0;
    const client = new TerminalClient({ url: apps.gateway.url, token: legacy, reconnection: false });
    clients.push(client);
    client.onTokenExpired(() => expired++);
    const error = await client.connect().then(
      () => {
        throw new Error('connected');
      },
      (refused: ConnectRefused) => refused,
    );
    expect(error).toBeInstanceOf(ConnectRefused);
    expect(error.reason).toBe('token-expired');
    expect(expired).toBe(1);
  });
});

describe('/console tokens', () => {
  it('disconnects a console when its user token expires, with token-expired first', async () => {
    const board = await watch(CONSOLE_NAMESPACE, tokenFor(ns, 'hq-admin', { expiresIn: '3s' }));
    expect(board.socket.connected).toBe(true);
    await eventually(
      () => expect(board.seen).toEqual(['token-expired:token-expired', 'disconnect:io server disconnect']),
      { timeoutMs: 10_000 },
    );
  });

  it('keeps user tokens off /terminal and device tokens off /console', async () => {
    const device = await api.terminal(storeA);
    expect((await refusal(TERMINAL_NAMESPACE, tokenFor(ns, 'hq-admin'))).data?.reason).toBe('not-a-terminal');
    expect((await refusal(TERMINAL_NAMESPACE, tokenFor(ns, 'store-manager', { storeId: storeA }))).data?.reason).toBe(
      'not-a-terminal',
    );
    expect((await refusal(CONSOLE_NAMESPACE, device.token)).data?.reason).toBe('forbidden');
  });
});
