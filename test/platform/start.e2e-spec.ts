/**
 * @exclusive It runs `npm start`: a Kafka, a Redis and three apps of its own. (test/setup/e2e-environment.ts)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { topicNames } from '@lastmeter/contracts';
import { createKafkaClient, withTimeout } from '@lastmeter/kafka';
import { ensureKafkaJars, freePort, lastmeterHome, type InfraStatus } from '@lastmeter/infra';
import { CLI, pathWith, runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { requireEnv } from '../support/env';

/**
 * `npm start` is `lastmeter start`: infra, three apps, readiness, URLs; Ctrl-C stops
 * everything it started and the data is there for the next start. It runs in a process
 * group of its own, and Ctrl-C is sent to that group, as a terminal does.
 */
const home = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'start-home-'));
beforeAll(async () => {
  // Shares the repository's jar cache (filled by global-setup unless KAFKA_BROKERS is external).
  await ensureKafkaJars(lastmeterHome().kafkaJars);
  symlinkSync(lastmeterHome().kafkaJars, join(home, 'kafka'));
});

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** A line an app logged at WARN or above (pretty-printed by the supervisor), or a CLI warning/error. */
const WARNING_OR_WORSE = /^\[\w+\]\s+\[[\d:]+\] (WARN|ERROR|FATAL):.*$|^lastmeter:.*$/m;
const ERROR_OR_WORSE = /^\[\w+\]\s+\[[\d:]+\] (ERROR|FATAL):.*$|^lastmeter:.*$/m;
/** A stack frame, printed or inside a JSON log line. */
const STACK_FRAME = /(^|\\n)\s+at \S.*:\d+:\d+\)?/m;

/** Every line of `text` that matches `pattern` (a failure shows them). */
function linesMatching(text: string, pattern: RegExp): string[] {
  return text.match(new RegExp(pattern.source, 'gm')) ?? [];
}

/** Ctrl-C in the terminal: SIGINT to the whole foreground process group. */
function interrupt(child: ChildProcess): void {
  process.kill(-child.pid!, 'SIGINT');
}

/** Every `start` of this file: a failed test must not leave one running for the next. */
const launched: Started[] = [];

function launch(ports: Record<string, number>): Started {
  const child = spawn(process.execPath, [CLI, 'start'], {
    env: {
      HOME: process.env.HOME,
      NO_COLOR: '1',
      LASTMETER_HOME: home,
      PATH: pathWith(['java', 'redis-server']),
      GATEWAY_PORT: String(ports.gateway),
      COMMAND_PORT: String(ports.command),
      PROJECTOR_PORT: String(ports.projector),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const started = { child, output: () => output, exited };
  launched.push(started);
  return started;
}

/** Its exit code, once it has exited; fails with what it printed if it has not within `ms`. */
const exitOf = (started: Started, ms = 60_000) =>
  withTimeout(started.exited, ms, () => `still running ${ms} ms after Ctrl-C:\n${started.output()}`);

async function start(ports: Record<string, number>): Promise<Started> {
  const started = launch(ports);
  const { child, output: text } = started;
  await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`start exited early:\n${text()}`);
      expect(text()).toContain('Last Meter is up');
    },
    { timeoutMs: 120_000, intervalMs: 500, what: 'Last Meter is up' },
  );
  return started;
}

/** The processes below `root` now: pid → command line (from /proc). */
function descendants(root: number): Map<number, string> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found = new Map<number, string>();
  const queue = [root];
  while (queue.length > 0) {
    for (const pid of children.get(queue.shift()!) ?? []) {
      try {
        found.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
      } catch {
        found.set(pid, '?');
      }
      queue.push(pid);
    }
  }
  return found;
}

/** Still running as the same program (a pid may have been reused since; a zombie has no command line). */
function stillRunning(pid: number, cmdline: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ') === cmdline && cmdline !== '';
  } catch {
    return false;
  }
}

let running: Started | undefined;
async function stopAll(): Promise<void> {
  for (const started of launched.splice(0)) {
    if (started.child.exitCode === null && started.child.signalCode === null) interrupt(started.child);
    await started.exited;
  }
  running = undefined;
}
afterAll(async () => {
  await stopAll();
  await runCli(['infra', 'down'], { LASTMETER_HOME: home, PATH: process.env.PATH });
});

it('brings up infra and all apps, prints the URLs, and stops everything on Ctrl-C', async () => {
  const ports = { gateway: await freePort(), command: await freePort(), projector: await freePort() };
  running = await start(ports);
  // What is on the screen a moment after the URLs, before this test makes any request.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const output = running.output();
  // A healthy start is quiet: no WARN or ERROR from the apps or kafkajs (whose retries
  // while the fresh broker settles are debug), no warning of the CLI, no stack trace.
  expect(linesMatching(output, WARNING_OR_WORSE)).toEqual([]);
  expect(output).not.toMatch(STACK_FRAME);
  // The URLs come once the demo is seeded and visible: after the seed's requests, last.
  const banner = output.indexOf('Last Meter is up');
  expect(output).toMatch(/demo seeded in [\d.]+ s/);
  expect(output.indexOf('demo seeded in')).toBeLessThan(banner);
  expect(output.slice(banner)).not.toMatch(/^\[(command|projector|gateway)\]/m);
  // ...and the console shows it from the first page load.
  const editor = await fetch(`http://127.0.0.1:${ports.command}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'editor', password: 'editor-demo-pass' }),
  });
  const { token } = (await editor.json()) as { token: string };
  const catalogue = await fetch(`http://127.0.0.1:${ports.gateway}/v1/communications`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(((await catalogue.json()) as { items: unknown[] }).items).toHaveLength(4);
  expect(output).toContain(`gateway (read API, UIs)  http://127.0.0.1:${ports.gateway}`);
  // The web UIs are served, and told where the write API is.
  for (const [path, title] of [
    ['/', 'Head office'],
    ['/store/', 'Store'],
    ['/store/screen/', 'Break-room screen'],
    ['/analyst/', 'Analyst'],
  ]) {
    expect(output).toContain(`http://127.0.0.1:${ports.gateway}${path}`);
    const page = await fetch(`http://127.0.0.1:${ports.gateway}${path}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`<title>Last Meter — ${title}</title>`);
  }
  const uiConfig = await (await fetch(`http://127.0.0.1:${ports.gateway}/v1/ui/config`)).json();
  expect(uiConfig).toEqual({ commandUrl: `http://127.0.0.1:${ports.command}` });
  expect(output).toContain(`command API              http://127.0.0.1:${ports.command}/v1`);
  expect(output).toContain(`http://127.0.0.1:${ports.command}/docs`);
  expect(output).toMatch(/admin login\s+admin \/ \S+/);
  // An empty log gets the demo: its people can log in, its terminal code is shown.
  expect(output).toMatch(/demo logins\s+editor \/ editor-demo-pass/);
  expect(output).toMatch(/terminal enrollment\s+[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4} \(paris-rivoli/);
  expect(output).toMatch(/screen enrollment\s+[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4} \(paris-rivoli/);
  const login = await fetch(`http://127.0.0.1:${ports.command}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'manager.paris', password: 'manager-demo-pass' }),
  });
  expect(login.status).toBe(200);
  expect(await login.json()).toMatchObject({ role: 'store-manager', storeId: expect.any(String) });
  for (const port of Object.values(ports)) {
    expect((await fetch(`http://127.0.0.1:${port}/v1/health/ready`)).status).toBe(200);
  }
  // App output is prefixed and pretty-printed, not raw JSON.
  expect(output).toMatch(/^\[gateway\]\s+\[\d\d:\d\d:\d\d\] INFO: \[Bootstrap\] gateway listening/m);

  const status = JSON.parse(
    (await runCli(['infra', 'status', '--json'], { LASTMETER_HOME: home, PATH: '' })).stdout,
  ) as InfraStatus;
  expect(status.kafka).toMatchObject({ kind: 'local', reachable: true });
  expect(status.redis).toMatchObject({ kind: 'local', reachable: true });
  const kafkaPid = status.kafka.kind === 'local' ? status.kafka.pid : 0;

  interrupt(running.child);
  expect(await exitOf(running)).toBe(0);
  expect(running.output()).not.toMatch(STACK_FRAME);
  running = undefined;
  expect(() => process.kill(kafkaPid, 0)).toThrow();
  for (const port of Object.values(ports)) {
    await expect(fetch(`http://127.0.0.1:${port}/v1/health/live`)).rejects.toThrow();
  }
  const after = JSON.parse(
    (await runCli(['infra', 'status', '--json'], { LASTMETER_HOME: home, PATH: '' })).stdout,
  ) as InfraStatus;
  expect(after.kafka.kind).toBe('stopped');
  expect(after.redis.kind).toBe('stopped');
}, 240_000);

it('starts again on the same data: same Kafka cluster, topics still there', async () => {
  const clusterId = readFileSync(join(home, 'data', 'kafka', 'cluster.id'), 'utf8');
  expect(existsSync(join(home, 'data', 'redis', 'appendonlydir'))).toBe(true);
  running = await start({ gateway: await freePort(), command: await freePort(), projector: await freePort() });
  expect(running.output()).not.toMatch(/seeding the demo/);
  // Rejoining the groups of the previous run is no reason for a warning either.
  expect(linesMatching(running.output(), WARNING_OR_WORSE)).toEqual([]);
  const brokers = /Kafka\s+(127\.0\.0\.1:\d+)/.exec(running.output())![1];
  const admin = createKafkaClient({ brokers: [brokers], clientId: 'start-test' }).admin();
  await admin.connect();
  try {
    expect((await admin.describeCluster()).clusterId).toBe(clusterId);
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(Object.values(topicNames())));
  } finally {
    await admin.disconnect();
  }
});

it('brings back a Kafka or Redis that was killed under it; the apps recover by themselves', async () => {
  if (!running)
    running = await start({ gateway: await freePort(), command: await freePort(), projector: await freePort() });
  const gateway = /gateway \(read API, UIs\)\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(running.output())![1];
  const command = /command API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(running.output())![1];
  const status = async () =>
    JSON.parse((await runCli(['infra', 'status', '--json'], { LASTMETER_HOME: home, PATH: '' })).stdout) as InfraStatus;
  const pidOf = (service: InfraStatus['kafka']) => (service.kind === 'local' ? service.pid : 0);
  const before = await status();

  for (const name of ['kafka', 'redis'] as const) {
    const pid = pidOf(before[name]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await eventually(
      async () => {
        const now = (await status())[name];
        expect(now).toMatchObject({ kind: 'local', reachable: true });
        expect(pidOf(now)).not.toBe(pid);
      },
      { timeoutMs: 90_000, intervalMs: 500, what: `${name} restarted` },
    );
  }
  expect(running.output()).toMatch(
    /Kafka stopped unexpectedly \(broker exited \(SIGKILL\)[^\n]*\n[\s\S]*Kafka is back/,
  );
  expect(running.output()).toMatch(
    /Redis stopped unexpectedly \(redis-server exited \(SIGKILL\)[^\n]*\n[\s\S]*Redis is back/,
  );
  // The apps ride out both outages: ready again, and a write goes through to a read.
  await eventually(
    async () => {
      for (const url of [gateway, command]) expect((await fetch(`${url}/v1/health/ready`)).status).toBe(200);
    },
    { timeoutMs: 90_000, intervalMs: 500, what: 'apps ready again' },
  );
  const login = await fetch(`${command}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'editor', password: 'editor-demo-pass' }),
  });
  const { token } = (await login.json()) as { token: string };
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const drafted = await fetch(`${command}/v1/communications`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      kind: 'notice',
      title: 'After the restarts',
      body: 'Kafka and Redis came back.',
      audience: { all: true },
    }),
  });
  expect(drafted.status).toBe(201);
  const { id } = (await drafted.json()) as { id: string };
  await eventually(
    async () => {
      const read = await fetch(`${gateway}/v1/communications/${id}`, { headers });
      expect(read.status).toBe(200);
    },
    { timeoutMs: 30_000, what: 'the new draft readable' },
  );
  // A supervisor still running, and no app gave up.
  expect(running.child.exitCode).toBeNull();
  expect(running.output()).not.toMatch(/keeps failing/);
}, 240_000);

describe('Ctrl-C during start-up stops everything it started, in one clean exit', () => {
  beforeAll(stopAll);

  it.each([
    // The broker's JVM is running but not ready yet (no topics created).
    [
      'while Kafka boots',
      (text: string, processes: string[]) =>
        processes.some((cmd) => cmd.includes('kafka.Kafka')) && !text.includes('created topics'),
    ],
    // The first app has logged; the others are still starting, nothing is seeded.
    ['while the apps start', (text: string) => /^\[(command|projector|gateway)\]/m.test(text)],
  ])(
    '%s',
    async (_when, moment) => {
      const started = launch({ gateway: await freePort(), command: await freePort(), projector: await freePort() });
      const pid = started.child.pid!;
      // Every process the CLI ever ran (apps, broker, redis-server, storage format…).
      const seen = new Map<number, string>();
      const watch = setInterval(() => descendants(pid).forEach((cmd, child) => seen.set(child, cmd)), 50);
      try {
        await eventually(
          () => {
            if (started.child.exitCode !== null) throw new Error(`start exited early:\n${started.output()}`);
            expect(moment(started.output(), [...descendants(pid).values()])).toBe(true);
          },
          { timeoutMs: 90_000, intervalMs: 50, what: 'the moment to interrupt' },
        );
        interrupt(started.child);
        expect(await started.exited).toBe(0);
      } finally {
        clearInterval(watch);
      }
      const output = started.output();
      expect(output).toMatch(/stopping…[\s\S]*stopped; data kept in/);
      expect(output).not.toMatch(/Last Meter is up/);
      expect(linesMatching(output, ERROR_OR_WORSE)).toEqual([]);
      expect(output).not.toMatch(STACK_FRAME);
      expect(seen.size).toBeGreaterThan(0);
      const left = [...seen].filter(([child, cmdline]) => stillRunning(child, cmdline));
      expect(left).toEqual([]);
    },
    150_000,
  );
});
