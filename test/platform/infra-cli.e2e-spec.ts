/**
 * @exclusive It starts and stops a Kafka and a Redis of its own. (test/setup/e2e-environment.ts)
 */
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ensureKafkaJars, lastmeterHome, type InfraStatus } from '@lastmeter/infra';
import { probeCluster } from '@lastmeter/kafka';
import { pathWith, runCli } from '../support/cli';
import { requireEnv } from '../support/env';

/**
 * `lastmeter infra up|status|down|reset` against a LASTMETER_HOME of the test's own. The
 * Kafka jar cache is shared with the repository's, as a user's second start would.
 */
const home = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'home-'));
beforeAll(async () => {
  // Shares the repository's jar cache (filled by global-setup unless KAFKA_BROKERS is external).
  await ensureKafkaJars(lastmeterHome().kafkaJars);
  symlinkSync(lastmeterHome().kafkaJars, join(home, 'kafka'));
});
const everything = pathWith(['java', 'redis-server']);
const env = (overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOME: process.env.HOME,
  NO_COLOR: '1',
  LASTMETER_HOME: home,
  PATH: everything, // no mvn: nothing may be fetched, the jar cache must serve
  ...overrides,
});

afterAll(async () => {
  await runCli(['infra', 'down'], env());
});

it('infra up starts Kafka and Redis in the background from the jar cache alone, and status says where', async () => {
  const up = await runCli(['infra', 'up'], env());
  expect(up.stderr).not.toMatch(/error/i);
  expect(up.code).toBe(0);
  const brokers = /^KAFKA_BROKERS=(127\.0\.0\.1:\d+)$/m.exec(up.stdout)?.[1];
  const redisUrl = /^REDIS_URL=(redis:\/\/127\.0\.0\.1:\d+)$/m.exec(up.stdout)?.[1];
  expect(brokers).toBeDefined();
  expect(redisUrl).toBeDefined();
  expect((await probeCluster([brokers!])).brokers).toBe(1);

  const status = JSON.parse((await runCli(['infra', 'status', '--json'], env())).stdout) as InfraStatus;
  expect(status.home).toBe(home);
  expect(status.kafka).toMatchObject({
    kind: 'local',
    address: brokers,
    reachable: true,
    dataDir: join(home, 'data', 'kafka'),
  });
  expect(status.redis).toMatchObject({
    kind: 'local',
    address: redisUrl,
    reachable: true,
    dataDir: join(home, 'data', 'redis'),
  });

  const text = await runCli(['infra', 'status'], env());
  expect(text.stdout).toMatch(new RegExp(`kafka\\s+running\\s+${brokers}\\s+pid \\d+\\s+ready`));
  expect(text.stdout).toMatch(/redis\s+running\s+redis:\/\/127\.0\.0\.1:\d+\s+pid \d+\s+ready/);

  const again = await runCli(['infra', 'up'], env());
  expect(again.code).toBe(0);
  expect(again.stderr).toMatch(/Kafka already running/);
  expect(again.stdout).toContain(`KAFKA_BROKERS=${brokers}`);
});

it('infra status reports external servers from KAFKA_BROKERS and REDIS_URL', async () => {
  const status = JSON.parse(
    (
      await runCli(
        ['infra', 'status', '--json'],
        env({ KAFKA_BROKERS: requireEnv('KAFKA_BROKERS'), REDIS_URL: 'redis://127.0.0.1:1' }),
      )
    ).stdout,
  ) as InfraStatus;
  expect(status.kafka).toEqual({ kind: 'external', address: requireEnv('KAFKA_BROKERS'), reachable: true });
  expect(status.redis).toEqual({ kind: 'external', address: 'redis://127.0.0.1:1', reachable: false });
});

it('infra down stops both and status says so', async () => {
  const down = await runCli(['infra', 'down'], env());
  expect(down.code).toBe(0);
  expect(down.stderr).toMatch(/stopping Kafka/);
  const status = JSON.parse((await runCli(['infra', 'status', '--json'], env())).stdout) as InfraStatus;
  expect(status.kafka.kind).toBe('stopped');
  expect(status.redis.kind).toBe('stopped');
});

it('infra reset wants --yes, then deletes the data but keeps the jar cache', async () => {
  const refused = await runCli(['infra', 'reset'], env());
  expect(refused.code).toBe(1);
  expect(refused.stderr.trim().split('\n')).toHaveLength(1);
  expect(refused.stderr).toMatch(/--yes/);
  const reset = await runCli(['infra', 'reset', '--yes'], env());
  expect(reset.code).toBe(0);
  const { existsSync } = await import('node:fs');
  expect(existsSync(join(home, 'data'))).toBe(false);
  expect(existsSync(join(home, 'kafka', 'complete.sha256'))).toBe(true);
});

describe('a missing prerequisite is one line naming what to install, exit code 1', () => {
  const bare = () => {
    const dir = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'bare-home-'));
    mkdirSync(join(dir, 'kafka'));
    return dir;
  };

  it.each([
    [
      'java',
      pathWith(['redis-server', 'mvn']),
      home,
      /java not found: .*install Java 17\+.*docker compose up.*KAFKA_BROKERS=/,
    ],
    [
      'redis-server',
      pathWith(['java', 'mvn']),
      home,
      /redis-server not found: install it .*apt-get install redis-server.*REDIS_URL=/,
    ],
    [
      'mvn (empty jar cache)',
      pathWith(['java', 'redis-server']),
      'bare',
      /mvn not found: .*install Maven.*docker compose up.*KAFKA_BROKERS=/,
    ],
  ])('%s', async (_tool, path, homeDir, expected) => {
    const result = await runCli(
      ['infra', 'up'],
      env({ PATH: path, LASTMETER_HOME: homeDir === 'bare' ? bare() : homeDir }),
    );
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
    expect(result.stderr).not.toMatch(/\s+at \S+ \(/); // no stack trace
  });
});
