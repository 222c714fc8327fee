import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * One suite's slice of the shared test Kafka and Redis: its own topic prefix and key
 * prefix, so suites can run in parallel and never see each other's data.
 */
export interface TestNamespace {
  name: string;
  topicPrefix: string;
  keyPrefix: string;
  /** Environment for an app process of this suite. */
  env: NodeJS.ProcessEnv;
}

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: e2e suites run under jest's e2e project (global-setup)`);
  return value;
}

export function testNamespace(suite: string, overrides: NodeJS.ProcessEnv = {}): TestNamespace {
  const run = process.env.LASTMETER_TEST_RUN ?? 'local';
  const id = `${suite.replace(/[^a-z0-9]/gi, '').slice(0, 20)}-${run}-${randomBytes(3).toString('hex')}`;
  const topicPrefix = `t.${id}.`;
  const keyPrefix = `t:${id}:`;
  return {
    name: suite,
    topicPrefix,
    keyPrefix,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: requireEnv('KAFKA_BROKERS'),
      REDIS_URL: requireEnv('REDIS_URL'),
      KAFKA_TOPIC_PREFIX: topicPrefix,
      KAFKA_PARTITIONS: '3',
      REDIS_KEY_PREFIX: keyPrefix,
      LASTMETER_JWT_SECRET: randomBytes(32).toString('hex'),
      LASTMETER_ADMIN_USER: 'admin',
      LASTMETER_ADMIN_PASSWORD: 'admin-password-for-tests',
      MEDIA_DIR: join(requireEnv('LASTMETER_TEST_ROOT'), 'media', id),
      ...overrides,
    },
  };
}
