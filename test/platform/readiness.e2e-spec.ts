/**
 * @exclusive It starts a Kafka and a Redis of its own and stops them under the apps. (test/setup/e2e-environment.ts)
 */
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { eventually } from '../support/eventually';
import { testNamespace } from '../support/env';
import { PrivateInfra } from '../support/private-infra';

/**
 * Readiness follows the real dependencies: kill Redis or Kafka under running apps and
 * every app turns 503 within 5 s; bring it back and they turn 200 again, without any
 * app being restarted.
 */
let infra: PrivateInfra;
let apps: Record<AppName, RunningApp>;

async function readiness(app: RunningApp) {
  const response = await fetch(`${app.url}/v1/health/ready`);
  return { status: response.status, body: (await response.json()) as { details: Record<string, { status: string }> } };
}

async function expectAll(status: 200 | 503, timeoutMs: number, down?: 'kafka' | 'redis') {
  await Promise.all(
    Object.values(apps).map((app) =>
      eventually(
        async () => {
          const ready = await readiness(app);
          expect(ready.status).toBe(status);
          if (down) expect(ready.body.details[down].status).toBe('down');
        },
        { timeoutMs, intervalMs: 100, what: `${app.name} to answer ${status}` },
      ),
    ),
  );
}

beforeAll(async () => {
  infra = await PrivateInfra.start();
  const ns = testNamespace('readiness', { KAFKA_BROKERS: infra.kafka.brokers, REDIS_URL: infra.redis.url });
  apps = await startApps(ns.env);
  await expectAll(200, 30_000);
});

afterAll(async () => {
  await stopApps(apps);
  await infra?.stop();
});

it('turns 503 within 5 s when Redis dies and 200 again when it is back', async () => {
  const pids = Object.values(apps).map((app) => app.process.pid);
  await infra.redis.kill();
  await expectAll(503, 5_000, 'redis');
  await infra.redis.start();
  await expectAll(200, 15_000);
  expect(Object.values(apps).map((app) => app.process.pid)).toEqual(pids);
  expect(Object.values(apps).every((app) => app.process.exitCode === null)).toBe(true);
});

it('turns 503 within 5 s when Kafka dies and 200 again when it is back', async () => {
  const pids = Object.values(apps).map((app) => app.process.pid);
  await infra.kafka.kill();
  await expectAll(503, 5_000, 'kafka');
  await infra.kafka.start();
  await expectAll(200, 60_000);
  expect(Object.values(apps).map((app) => app.process.pid)).toEqual(pids);
  expect(Object.values(apps).every((app) => app.process.exitCode === null)).toBe(true);
});
