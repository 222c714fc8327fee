/**
 * @exclusive It starts Kafka brokers of its own and kills one while the apps work. (test/setup/e2e-environment.ts)
 */
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { topicNames, type FeedMessage } from '@lastmeter/contracts';
import { ensureKafkaJars, freePort, lastmeterHome, pidListeningOn, type ClusterStatus } from '@lastmeter/infra';
import { createKafkaClient } from '@lastmeter/kafka';
import { createRedisClient } from '@lastmeter/redis';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { CLI, pathWith, runCli } from '../support/cli';
import { requireEnv } from '../support/env';
import { eventually } from '../support/eventually';

/**
 * `npm run start:cluster` (issue 18 item 1): three brokers, Redis with Sentinel, two of
 * every app, HAProxy in front of the gateways and the command services. A terminal
 * connected through HAProxy keeps getting items after the gateway it was on is killed.
 * `lastmeter infra` (the infrastructure part: `infra up|status|down --profile cluster`)
 * is checked on the same cluster, which saves CI starting a second one.
 */
const home = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'start-cluster-home-'));
let child: ChildProcess | undefined;
let output = '';
let exited: Promise<number | null>;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  await ensureKafkaJars(lastmeterHome().kafkaJars);
  symlinkSync(lastmeterHome().kafkaJars, join(home, 'kafka'));
});

afterAll(async () => {
  for (const client of clients) client.close();
  if (child && child.exitCode === null) {
    process.kill(-child.pid!, 'SIGINT');
    await exited;
  }
  await runCli(['infra', 'down'], { LASTMETER_HOME: home, PATH: process.env.PATH });
}, 120_000);

async function clusterStatus(): Promise<{ cluster: ClusterStatus }> {
  return JSON.parse((await runCli(['infra', 'status', '--json'], { LASTMETER_HOME: home, PATH: '' })).stdout) as {
    cluster: ClusterStatus;
  };
}

const json = async (response: Response) => (await response.json()) as Record<string, unknown>;

async function scenario(): Promise<void> {
  const ports = { gateway: await freePort(), command: await freePort() };
  child = spawn(process.execPath, [CLI, 'start-cluster'], {
    env: {
      HOME: process.env.HOME,
      NO_COLOR: '1',
      LASTMETER_HOME: home,
      PATH: pathWith(['java', 'redis-server', 'haproxy']),
      GATEWAY_PORT: String(ports.gateway),
      COMMAND_PORT: String(ports.command),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  exited = new Promise((resolve) => child!.once('exit', resolve));
  // Up, or exited early (then at once, with its output).
  const early = exited.then((code) => {
    throw new Error(`start-cluster exited early (${code}):\n${output}`);
  });
  await Promise.race([
    early,
    eventually(() => expect(output).toContain('Last Meter (cluster profile) is up'), {
      timeoutMs: 240_000,
      intervalMs: 1_000,
      what: 'the cluster profile up',
    }),
  ]);
  early.catch(() => undefined);
  const gateway = `http://127.0.0.1:${ports.gateway}`;
  const command = `http://127.0.0.1:${ports.command}`;
  const instancePorts = (label: string) =>
    [...new RegExp(`${label}.*→ (:\\d+) (:\\d+)`).exec(output)!.slice(1)].map((p) => Number(p.slice(1)));
  const gateways = instancePorts('gateway \\(HAProxy\\)');
  expect(gateways).toHaveLength(2);
  expect(instancePorts('command API \\(HAProxy\\)')).toHaveLength(2);

  await infraSeesTheCluster();

  // Through the balancers: log in as the seeded admin, enroll a terminal of a new store.
  const [, adminUser, adminPassword] = /admin login\s+(\S+) \/ (\S+)/.exec(output)!;
  const login = await json(
    await fetch(`${command}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: adminUser, password: adminPassword }),
    }),
  );
  const headers = { authorization: `Bearer ${login.token as string}`, 'content-type': 'application/json' };
  // As a careful client: the same Idempotency-Key on every attempt, retried while the
  // answer is 503 (a broker or the Redis master just died), 202 or no answer at all.
  const post = async (path: string, body: object) => {
    const key = randomUUID();
    return eventually(
      async () => {
        const response = await fetch(`${command}/v1${path}`, {
          method: 'POST',
          headers: { ...headers, 'idempotency-key': key },
          body: JSON.stringify(body),
        });
        if (![200, 201, 202, 503].includes(response.status))
          throw new Error(`${path}: ${response.status} ${await response.text()}`);
        expect([200, 201]).toContain(response.status);
        return json(response);
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `POST ${path}` },
    );
  };
  const region = await post('/regions', { code: 'cl', name: 'Cluster' });
  const store = await post('/stores', { code: 'CL1', name: 'Cluster 1', regionId: region.id });
  const registered = await post('/terminals', { storeId: store.id, roles: [] });
  const enrolled = await json(
    await fetch(`${command}/v1/terminals/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: registered.enrollmentCode }),
    }),
  );
  const received: FeedMessage[] = [];
  const client = new TerminalClient({
    url: gateway,
    token: enrolled.token as string,
    cursors: new MemoryCursorStore(),
  });
  clients.push(client);
  client.onItem((item) => received.push(item));
  await client.connect();
  const publish = async (title: string) => {
    const draft = await post('/communications', {
      kind: 'notice',
      title,
      body: title,
      audience: { storeIds: [store.id] },
    });
    await post(`/communications/${draft.id as string}/publish`, {});
  };
  // What the terminal got, by title, and its feed positions: gap-free and without a
  // duplicate from the first, across the reconnections below. (The store also gets what
  // the demo seed published to every store, so positions are not counted from 'first'.)
  const titles = () =>
    received.flatMap((m) => ('communication' in m && m.change === 'published' ? [m.communication.title] : []));
  const expectGapFree = () => {
    const seqs = received.map((m) => m.feedSeq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
  };
  const ours = (wanted: string[]) => titles().filter((title) => wanted.includes(title));
  await publish('first');
  await eventually(() => expect(ours(['first'])).toEqual(['first']), { timeoutMs: 30_000 });
  expectGapFree();

  // The gateway on the first port dies (whichever holds the socket: this one, or the
  // other which keeps it); the terminal reconnects through HAProxy if it has to.
  const victim = gateways[0]!;
  const pid = pidListeningOn(victim);
  expect(pid).toBeGreaterThan(0);
  process.kill(pid!, 'SIGKILL');
  await publish('second');
  await publish('third');
  await eventually(() => expect(ours(['first', 'second', 'third'])).toEqual(['first', 'second', 'third']), {
    timeoutMs: 60_000,
    what: 'the items after the gateway was killed',
  });
  expectGapFree();
  expect(output).toMatch(/\[gateway-1\]\s.*exited \(SIGKILL\); restarting/);

  // A broker and the Redis master killed under it come back by themselves.
  const before = (await clusterStatus()).cluster;
  const brokerPid = before.kafka[2]!.pid!;
  const redisPid = before.redis[0]!.pid!;
  process.kill(brokerPid, 'SIGKILL');
  process.kill(redisPid, 'SIGKILL');
  await eventually(
    async () => {
      const now = (await clusterStatus()).cluster;
      expect(now.kafka[2]).toMatchObject({ alive: true, reachable: true });
      expect(now.kafka[2]!.pid).not.toBe(brokerPid);
      expect(now.redis[0]).toMatchObject({ alive: true, reachable: true });
      expect(now.redis[0]!.pid).not.toBe(redisPid);
    },
    { timeoutMs: 120_000, intervalMs: 1_000, what: 'the broker and Redis back' },
  );
  expect(output).toMatch(/Kafka node 3 stopped unexpectedly[\s\S]*Kafka node 3 is back/);
  expect(output).toMatch(/Redis 1 stopped unexpectedly[\s\S]*Redis 1 is back/);
  await publish('fourth');
  const all = ['first', 'second', 'third', 'fourth'];
  await eventually(() => expect(ours(all)).toEqual(all), {
    timeoutMs: 60_000,
    what: 'an item after the broker and Redis came back',
  });
  expectGapFree();

  process.kill(-child.pid!, 'SIGINT');
  expect(await exited).toBe(0);
  child = undefined;

  // `infra down` stops whatever of the cluster is left, and `infra status` says so.
  const down = await runCli(['infra', 'down'], infraEnv(), 120_000);
  expect(down.code).toBe(0);
  const stopped = (await clusterStatus()).cluster;
  expect(stopped.running).toBe(false);
  for (const p of [...stopped.kafka, ...stopped.redis, ...stopped.sentinels]) expect(p.alive).toBe(false);
}

const infraEnv = () => ({
  HOME: process.env.HOME,
  NO_COLOR: '1',
  LASTMETER_HOME: home,
  PATH: pathWith(['java', 'redis-server']),
});

/**
 * `lastmeter infra` finds the cluster the profile brought up: `up` says it runs and prints
 * its endpoints, `status` shows every process alive and reachable, the topics are on all
 * three brokers, the Redis URL reaches the master, and the operational commands find it
 * without KAFKA_BROKERS or REDIS_URL.
 */
async function infraSeesTheCluster(): Promise<void> {
  const again = await runCli(['infra', 'up', '--profile', 'cluster'], infraEnv());
  expect(again.stderr).not.toMatch(/\n\s+at /);
  expect({ code: again.code, stderr: again.stderr }).toMatchObject({ code: 0 });
  expect(again.stderr).toContain('cluster already running');
  const printed = Object.fromEntries(
    again.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/=(.*)/s).slice(0, 2)),
  ) as Record<string, string>;
  expect(printed.KAFKA_BROKERS!.split(',')).toHaveLength(3);
  expect(printed.REDIS_URL).toMatch(/^redis\+sentinel:\/\/(127\.0\.0\.1:\d+,){2}127\.0\.0\.1:\d+\/lastmeter$/);
  expect(printed.KAFKA_REPLICATION_FACTOR).toBe('3');

  const running = (await clusterStatus()).cluster;
  expect(running.running).toBe(true);
  expect(running.kafka).toHaveLength(3);
  expect(running.redis).toHaveLength(2);
  expect(running.sentinels).toHaveLength(3);
  for (const p of [...running.kafka, ...running.redis, ...running.sentinels])
    expect(p).toMatchObject({ alive: true, reachable: true });
  expect(running.master).toBe(running.redis[0]!.address.replace('redis://', ''));

  const admin = createKafkaClient({ brokers: printed.KAFKA_BROKERS!.split(','), clientId: 'test-profile' }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topicNames('').events] });
    for (const partition of topics[0]!.partitions) expect(partition.replicas).toHaveLength(3);
  } finally {
    await admin.disconnect();
  }
  const redis = createRedisClient(printed.REDIS_URL!, 'test-profile');
  try {
    expect(await redis.role()).toEqual(expect.arrayContaining(['master']));
  } finally {
    redis.disconnect();
  }
  const letters = await runCli(['dlq', 'list'], infraEnv());
  expect(letters.stderr).not.toContain('no Kafka or Redis to work on');
  expect(letters.code).toBe(0);
}

it('runs two of every app behind HAProxy; a terminal survives losing its gateway, a broker and the Redis master', async () => {
  // On a failure, what `lastmeter start-cluster` printed comes with it (which process
  // stopped, or why it shut down): the temporary home and its logs are gone afterwards.
  await scenario().catch((error: Error) => {
    error.message += `\n--- lastmeter start-cluster said (last 8,000 characters) ---\n${output.slice(-8_000)}`;
    throw error;
  });
}, 420_000);
