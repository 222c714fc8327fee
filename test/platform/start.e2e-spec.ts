import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { topicNames } from '@lastmeter/contracts';
import { createKafkaClient } from '@lastmeter/kafka';
import { ensureKafkaJars, freePort, lastmeterHome, type InfraStatus } from '@lastmeter/infra';
import { CLI, pathWith, runCli } from '../support/cli';
import { eventually } from '../support/eventually';
import { requireEnv } from '../support/env';

/**
 * `npm start` is `lastmeter start`: infra, three apps, readiness, URLs; Ctrl-C stops
 * everything it started and the data is there for the next start.
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

async function start(ports: Record<string, number>): Promise<Started> {
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
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`start exited early:\n${output}`);
      expect(output).toContain('Last Meter is up');
    },
    { timeoutMs: 120_000, intervalMs: 500, what: 'Last Meter is up' },
  );
  return { child, output: () => output, exited };
}

let running: Started | undefined;
afterAll(async () => {
  running?.child.kill('SIGINT');
  await running?.exited;
  await runCli(['infra', 'down'], { LASTMETER_HOME: home, PATH: process.env.PATH });
});

it('brings up infra and all apps, prints the URLs, and stops everything on Ctrl-C', async () => {
  const ports = { gateway: await freePort(), command: await freePort(), projector: await freePort() };
  running = await start(ports);
  const output = running.output();
  expect(output).toContain(`gateway (read API, UIs)  http://127.0.0.1:${ports.gateway}`);
  // The three web UIs are served, and told where the write API is.
  for (const [path, title] of [
    ['/', 'Head office'],
    ['/store/', 'Store'],
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

  running.child.kill('SIGINT');
  expect(await running.exited).toBe(0);
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
});

it('starts again on the same data: same Kafka cluster, topics still there', async () => {
  const clusterId = readFileSync(join(home, 'data', 'kafka', 'cluster.id'), 'utf8');
  expect(existsSync(join(home, 'data', 'redis', 'appendonlydir'))).toBe(true);
  running = await start({ gateway: await freePort(), command: await freePort(), projector: await freePort() });
  expect(running.output()).not.toMatch(/seeding the demo/);
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
