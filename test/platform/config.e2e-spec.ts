import { spawnApp, type AppName } from '../support/apps';
import { testNamespace } from '../support/env';

/** A bad setting stops an app at once with one readable line and exit code 1. */
const ns = testNamespace('config');

const cases: Array<[AppName, NodeJS.ProcessEnv, RegExp]> = [
  [
    'command',
    { KAFKA_PARTITIONS: 'abc' },
    /^lastmeter-command: invalid configuration: KAFKA_PARTITIONS: .*"abc" is not a positive integer$/,
  ],
  [
    'projector',
    { REDIS_URL: 'http://nope' },
    /^lastmeter-projector: invalid configuration: REDIS_URL: .*is neither a redis:\/\/ nor a redis\+sentinel:\/\/ URL$/,
  ],
  ['gateway', { GATEWAY_PORT: 'eighty' }, /^lastmeter-gateway: invalid configuration: GATEWAY_PORT: /],
  ['gateway', { KAFKA_BROKERS: undefined }, /^lastmeter-gateway: invalid configuration: KAFKA_BROKERS is required$/],
  [
    'command',
    { LASTMETER_JWT_SECRET: 'short' },
    /^lastmeter-command: invalid configuration: LASTMETER_JWT_SECRET: .*at least 32 characters$/,
  ],
];

it.each(cases)('%s with %j exits 1 with one clear line', async (name, overrides, expected) => {
  const env = { ...ns.env, ...overrides };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete env[key];
  const app = spawnApp(name, env);
  const code = await app.exited;
  expect(code).toBe(1);
  expect(app.output).toHaveLength(1);
  expect(app.output[0]).toMatch(expected);
});
