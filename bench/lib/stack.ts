import type { ChildProcess } from 'node:child_process';
import { createSecretKey, randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { JwtService } from '@nestjs/jwt';
import { topicNames, type ActorRole, type Audience } from '@lastmeter/contracts';
import { ensureTopicsAt } from '@lastmeter/kafka';
import { appPort, startBuiltApp, type BenchInfra } from '../support';
import { forEachConcurrently } from './concurrently';
import { awaitDelivery, msSince, stopChild, type Fleet } from './fleet';

export type AppName = 'command' | 'projector' | 'gateway';

/**
 * The three apps as production runs them (built output, own processes), on the bench's
 * Kafka and Redis under a fresh topic and key prefix, with helpers to call them.
 */
export interface Stack {
  prefix: string;
  env: NodeJS.ProcessEnv;
  urls: Record<AppName, string>;
  processes: Partial<Record<AppName, ChildProcess>>;
  /** A new token, as the auth service would issue it. */
  token(role: ActorRole, claims?: Record<string, unknown>): string;
  /** The role's one access token, reused as a console reuses its own until it expires. */
  bearer(role: ActorRole): string;
  /** POST/PATCH to the command API as an hq-admin/editor; throws on non-2xx. */
  command<T = { id: string; version: number }>(path: string, body: object, role?: ActorRole): Promise<T>;
  /** GET from the gateway as an analyst. */
  read<T>(path: string): Promise<T>;
  /** One Prometheus gauge or counter of an app (summed over its label sets). */
  metric(app: AppName, name: string): Promise<number>;
  /** One more instance of an app on the same namespace and a port of its own, `env` on top of the stack's. */
  another(
    app: AppName,
    env?: NodeJS.ProcessEnv,
  ): Promise<{ url: string; process: ChildProcess; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

/**
 * BENCH_APP_SETTINGS="NAME=value,NAME=value": settings every app of every stack gets (a
 * scenario's own come on top), for an A/B of one setting on one build, e.g.
 * `BENCH_APP_SETTINGS=COMMAND_FEED_NOTICE=false`.
 */
export function benchAppSettings(spec = process.env.BENCH_APP_SETTINGS ?? ''): NodeJS.ProcessEnv {
  const settings: NodeJS.ProcessEnv = {};
  for (const pair of spec.split(',').filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`BENCH_APP_SETTINGS: "${pair}" is not NAME=value`);
    settings[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return settings;
}

export async function startStack(
  infra: BenchInfra,
  apps: AppName[] = ['command', 'projector', 'gateway'],
  /** Settings on top of the stack's own (e.g. a limit a scenario must not run into). */
  settings: NodeJS.ProcessEnv = {},
): Promise<Stack> {
  const prefix = `bench-${randomBytes(3).toString('hex')}.`;
  const secret = randomBytes(32).toString('hex');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    KAFKA_BROKERS: infra.brokers,
    REDIS_URL: infra.redisUrl,
    KAFKA_TOPIC_PREFIX: prefix,
    REDIS_KEY_PREFIX: prefix,
    LASTMETER_JWT_SECRET: secret,
    LASTMETER_ADMIN_PASSWORD: 'bench-admin',
    ...benchAppSettings(),
    ...settings,
  };
  await ensureTopicsAt([infra.brokers], topicNames(prefix), { partitions: 12, replicationFactor: 1 });
  const ports = { command: await appPort(), projector: await appPort(), gateway: await appPort() };
  const urls = Object.fromEntries(
    Object.entries(ports).map(([name, port]) => [name, `http://127.0.0.1:${port}`]),
  ) as Record<AppName, string>;
  const processes: Partial<Record<AppName, ChildProcess>> = {};
  // Side by side: none needs another to be up (the topics exist), and each mostly waits for
  // its own readiness (group joins, first round trips), which one after another added up.
  const starts = await Promise.allSettled(
    apps.map(async (app) => (processes[app] = await startBuiltApp(app, env, ports[app]))),
  );
  const failed = starts.find((start): start is PromiseRejectedResult => start.status === 'rejected');
  if (failed) {
    for (const child of Object.values(processes)) child?.kill('SIGKILL');
    throw failed.reason;
  }
  const extras: ChildProcess[] = [];

  // A KeyObject, as the apps hold it (libs/auth): with the string, jsonwebtoken tries it as
  // a private key first, and every token cost the bench ~0.47 ms of CPU.
  const jwt = new JwtService({ secret: createSecretKey(Buffer.from(secret, 'utf8')) });
  const token = (role: ActorRole, claims: Record<string, unknown> = {}) =>
    jwt.sign({ sub: `bench-${role}`, role, ...claims }, { issuer: 'lastmeter', expiresIn: '2h' });
  const tokens = new Map<string, string>();
  const cached = (role: ActorRole) => tokens.get(role) ?? (tokens.set(role, token(role)), tokens.get(role)!);

  return {
    prefix,
    env,
    urls,
    processes,
    token,
    bearer: cached,
    async command<T>(path: string, body: object, role: ActorRole = 'hq-admin'): Promise<T> {
      const response = await fetch(`${urls.command}/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${cached(role)}` },
        body: JSON.stringify(body),
      });
      if (response.status >= 300) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    },
    async read<T>(path: string): Promise<T> {
      const response = await fetch(`${urls.gateway}/v1${path}`, {
        headers: { authorization: `Bearer ${cached('analyst')}` },
      });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    },
    async metric(app: AppName, name: string): Promise<number> {
      const text = await (await fetch(`${urls[app]}/metrics`)).text();
      return text
        .split('\n')
        .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    },
    async another(app: AppName, extra: NodeJS.ProcessEnv = {}) {
      const port = await appPort();
      const child = await startBuiltApp(app, { ...env, ...extra }, port);
      extras.push(child);
      return { url: `http://127.0.0.1:${port}`, process: child, stop: () => stopChild(child) };
    },
    async stop() {
      await Promise.all([...Object.values(processes), ...extras].map(stopChild));
    },
  };
}

/** Registers and enrolls a terminal of the store, as the console and a tablet do: its id and device token. */
export async function enrollTerminal(stack: Stack, storeId: string): Promise<{ terminalId: string; token: string }> {
  const registered = await stack.command<{ enrollmentCode: string }>('/terminals', { storeId, roles: [] });
  const response = await fetch(`${stack.urls.command}/v1/terminals/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: registered.enrollmentCode }),
  });
  if (response.status >= 300) throw new Error(`enroll: ${response.status} ${await response.text()}`);
  return (await response.json()) as { terminalId: string; token: string };
}

/** A region with `count` stores; returns their ids. */
export async function setUpStores(stack: Stack, count: number): Promise<string[]> {
  const { id: regionId } = await stack.command('/regions', { code: 'bench-region', name: 'Bench' });
  const stores: string[] = [];
  for (let s = 0; s < count; s++) {
    stores.push((await stack.command('/stores', { code: `bench-${s}`, name: `Bench store ${s}`, regionId })).id);
  }
  return stores;
}

/** The ids of the first `max` stores of the directory (all by default), by code, through the paged read API. */
export async function storeIds(stack: Stack, max = Infinity): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await stack.read<{ items: Array<{ id: string }>; next?: string }>(
      `/stores?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    ids.push(...page.items.map((s) => s.id));
    cursor = page.next;
  } while (cursor && ids.length < max);
  return ids.slice(0, max);
}

/**
 * A store's feed head. A store registered a moment ago may not be in the read models yet
 * (they follow the log): its 404 is read again, for up to 10 s.
 */
async function feedHead(stack: Stack, storeId: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await stack.read<{ headSeq: number }>(`/stores/${storeId}/feed?limit=1`)).headSeq;
    } catch (error) {
      if (attempt >= 100 || !/: 404 /.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Tokens and current cursors for `n` terminals spread over the stores (they want only new items). */
export async function terminalsOf(stack: Stack, stores: string[], n: number, offset = 0) {
  const heads = new Map<string, number>();
  for (const storeId of stores) heads.set(storeId, await feedHead(stack, storeId));
  return Array.from({ length: n }, (_, i) => {
    const storeId = stores[(offset + i) % stores.length];
    return {
      token: stack.token('terminal', { sub: `bench-terminal-${offset + i}`, storeId }),
      cursor: heads.get(storeId) ?? 0,
    };
  });
}

/** Drafts `count` notices for every store (or `audience`), concurrently, returning their ids in order. */
export async function draftNotices(
  stack: Stack,
  count: number,
  concurrency = 50,
  audience: Audience = { all: true },
): Promise<string[]> {
  const ids: string[] = new Array(count);
  await forEachConcurrently(count, concurrency, async (i) => {
    ids[i] = (
      await stack.command(
        '/communications',
        {
          kind: 'notice',
          title: `Bench notice ${i}`,
          body: 'New shelf labels are in the back office. Replace the old ones before opening. ',
          audience,
        },
        'hq-editor',
      )
    ).id;
  });
  return ids;
}

/**
 * Publishes go through a bounded pool of keep-alive connections, as they would from the
 * console's users behind a load balancer: fetch's default pool opens a new connection
 * for every request in flight, and an open-loop burst of thousands of connections
 * overflows any server's accept queue (the kernel then drops or resets connections no
 * server code ever sees).
 */
const PUBLISH_AGENT = new Agent({ keepAlive: true, maxSockets: 128 });

/** Publishes one drafted communication; resolves with the HTTP status (rejects when no answer came). */
export function publish(stack: Stack, id: string): Promise<number> {
  return write(stack, 'POST', `/communications/${id}/publish`, 'hq-editor');
}

/** Revokes a terminal (`DELETE /v1/terminals/:id`) as an hq-admin; resolves with the HTTP status. */
export function revoke(stack: Stack, terminalId: string): Promise<number> {
  return write(stack, 'DELETE', `/terminals/${terminalId}`, 'hq-admin');
}

/** A write with an empty JSON body through the bounded pool; the HTTP status, or rejects when no answer came. */
function write(stack: Stack, method: string, path: string, role: ActorRole): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const request = httpRequest(
      `${stack.urls.command}/v1${path}`,
      {
        method,
        agent: PUBLISH_AGENT,
        // Content-Length spelled out: Node sends a DELETE's body without one (no chunking
        // by default for DELETE), and the server then reads the body as the next request.
        headers: {
          'content-type': 'application/json',
          'content-length': '2',
          authorization: `Bearer ${stack.bearer(role)}`,
        },
      },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
        response.once('error', reject);
      },
    );
    request.once('error', reject);
    request.end('{}');
  });
}

/**
 * Publishes `ids` one at a time, each once the previous one reached all `n` terminals of
 * `fleet` (plus a 100 ms pause): publish → last terminal, → first terminal and → HTTP answer, in
 * ms, without the first `warmUp` publishes. With `pairedWith`, that measurement runs
 * before each publish (then a 50 ms pause), and its results are `paired`: a floor taken
 * in the same moments as the publishes it is compared with.
 */
export async function publishRounds(
  stack: Stack,
  fleet: Fleet,
  ids: string[],
  n: number,
  warmUp = 3,
  pairedWith?: () => Promise<number>,
  hooks: RoundHooks = {},
): Promise<{ latencies: number[]; firsts: number[]; accepted: number[]; paired: number[] }> {
  const latencies: number[] = [];
  const firsts: number[] = [];
  const accepted: number[] = [];
  const paired: number[] = [];
  for (const [round, id] of ids.entries()) {
    if (pairedWith) {
      await hooks.beforePaired?.(round);
      const floor = await pairedWith();
      hooks.afterPaired?.(round);
      if (round >= warmUp) paired.push(floor);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    hooks.beforePublish?.(round);
    const t0 = process.hrtime.bigint();
    const status = await publish(stack, id);
    const t1 = process.hrtime.bigint();
    if (status !== 200 && status !== 202) throw new Error(`publish answered ${status}`);
    hooks.afterAnswer?.(round);
    const delivered = await awaitDelivery(fleet, [id], n);
    hooks.afterDelivery?.(round);
    if (round >= warmUp) {
      latencies.push(msSince(t0, delivered.get(id)!.last));
      firsts.push(msSince(t0, delivered.get(id)!.first));
      accepted.push(msSince(t0, t1));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { latencies, firsts, accepted, paired };
}

/** Called by `publishRounds` around each round's parts (a probe reads counters there). */
export interface RoundHooks {
  /** Before the paired round (awaited), and right after it. */
  beforePaired?(round: number): void | Promise<void>;
  afterPaired?(round: number): void;
  /** Right before the publish, once its HTTP answer is in, and once the last terminal has its item. */
  beforePublish?(round: number): void;
  afterAnswer?(round: number): void;
  afterDelivery?(round: number): void;
}

/**
 * Waits until the pipeline is idle: the projector has nothing left to project and has
 * applied nothing new for `quietMs` (so a phase does not compete with the tail of the
 * previous one, e.g. receipts or presence events still being written and projected).
 */
export async function untilQuiet(stack: Stack, quietMs = 1_000, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let applied = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const [lag, now] = await Promise.all([
      stack.metric('projector', 'lastmeter_projector_lag'),
      stack.metric('projector', 'lastmeter_projector_events_applied_total'),
    ]);
    if (lag > 0 || now !== applied) {
      applied = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  console.error(`the projector did not go quiet within ${timeoutMs / 1_000} s; measuring anyway`);
}
