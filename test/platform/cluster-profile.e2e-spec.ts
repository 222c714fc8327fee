import { mkdtempSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { topicNames } from '@lastmeter/contracts';
import { ensureKafkaJars, lastmeterHome, type ClusterStatus } from '@lastmeter/infra';
import { createKafkaClient } from '@lastmeter/kafka';
import { createRedisClient } from '@lastmeter/redis';
import { pathWith, runCli } from '../support/cli';
import { requireEnv } from '../support/env';

/**
 * `lastmeter infra up --profile cluster` (issue 18 item 1, infrastructure part): three
 * KRaft brokers and a Redis with a replica and three Sentinels in the background, its
 * topics replicated three times; `infra status` shows every process; `infra down` stops
 * them all.
 */
const home = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'cluster-home-'));
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  await ensureKafkaJars(lastmeterHome().kafkaJars);
  symlinkSync(lastmeterHome().kafkaJars, join(home, 'kafka'));
  env = { HOME: process.env.HOME, NO_COLOR: '1', LASTMETER_HOME: home, PATH: pathWith(['java', 'redis-server']) };
});

afterAll(async () => {
  await runCli(['infra', 'down'], env);
}, 120_000);

async function status(): Promise<ClusterStatus> {
  const result = await runCli(['infra', 'status', '--json'], env);
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { cluster: ClusterStatus }).cluster;
}

it('starts three brokers and a Sentinel-watched Redis, reports them, and stops them', async () => {
  const up = await runCli(['infra', 'up', '--profile', 'cluster'], env, 180_000);
  expect(up.stderr).not.toMatch(/\n\s+at /);
  expect({ code: up.code, stderr: up.stderr }).toMatchObject({ code: 0 });
  const printed = Object.fromEntries(
    up.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/=(.*)/s).slice(0, 2)),
  ) as Record<string, string>;
  expect(printed.KAFKA_BROKERS!.split(',')).toHaveLength(3);
  expect(printed.REDIS_URL).toMatch(/^redis\+sentinel:\/\/(127\.0\.0\.1:\d+,){2}127\.0\.0\.1:\d+\/lastmeter$/);
  expect(printed.KAFKA_REPLICATION_FACTOR).toBe('3');

  const running = await status();
  expect(running.running).toBe(true);
  expect(running.kafka).toHaveLength(3);
  expect(running.redis).toHaveLength(2);
  expect(running.sentinels).toHaveLength(3);
  for (const p of [...running.kafka, ...running.redis, ...running.sentinels])
    expect(p).toMatchObject({ alive: true, reachable: true });
  expect(running.master).toBe(running.redis[0]!.address.replace('redis://', ''));

  // The topics are on all three brokers, and the Redis URL reaches the master.
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
    await redis.set('profile-check', '1');
    expect(await redis.role()).toEqual(expect.arrayContaining(['master']));
  } finally {
    redis.disconnect();
  }

  // The operational commands find the cluster by themselves (no KAFKA_BROKERS / REDIS_URL).
  const letters = await runCli(['dlq', 'list'], env);
  expect(letters.stderr).not.toContain('no Kafka or Redis to work on');
  expect(letters.code).toBe(0);

  // A second `up` finds it running.
  const again = await runCli(['infra', 'up', '--profile', 'cluster'], env);
  expect(again.code).toBe(0);
  expect(again.stderr).toContain('cluster already running');

  const down = await runCli(['infra', 'down'], env, 120_000);
  expect(down.code).toBe(0);
  const stopped = await status();
  expect(stopped.running).toBe(false);
  for (const p of [...stopped.kafka, ...stopped.redis, ...stopped.sentinels]) expect(p.alive).toBe(false);
}, 300_000);
