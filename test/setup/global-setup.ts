/**
 * Starts one Kafka and one Redis for the whole e2e run (or uses KAFKA_BROKERS /
 * REDIS_URL when set) and hands their addresses to the test workers via the
 * environment. Suites isolate themselves by topic and key prefix (test/support).
 * Anything that cannot be provisioned fails the run loudly: no test passes without
 * the real servers.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Infra from '../../libs/infra/src';
import { SuiteLockServer } from './suite-lock';

const DIST_INFRA = join(__dirname, '..', '..', 'dist', 'libs', 'infra', 'src', 'index.js');

export interface TestInfra {
  root: string;
  kafka?: Infra.LocalKafka;
  redis?: Infra.LocalRedis;
  lock?: SuiteLockServer;
}

declare global {
  var __LASTMETER_TEST_INFRA__: TestInfra | undefined;
}

export default async function globalSetup(): Promise<void> {
  if (!existsSync(DIST_INFRA))
    throw new Error('e2e tests run the built apps: run `npm run build` first (npm test does)');
  // The built code, not the TS sources: apps under test run from dist/ too.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const infra = require(DIST_INFRA) as typeof Infra;
  const root = mkdtempSync(join(tmpdir(), 'lastmeter-test-'));
  const state: TestInfra = { root };
  globalThis.__LASTMETER_TEST_INFRA__ = state;
  const started = Date.now();

  try {
    if (!process.env.KAFKA_BROKERS) {
      const jars = await infra.ensureKafkaJars(infra.lastmeterHome().kafkaJars, {
        onProgress: (line) => process.stderr.write(`[test infra] ${line}\n`),
      });
      const port = await infra.freePort();
      const controllerPort = await infra.preferredOrFreePort(undefined, [port]);
      state.kafka = new infra.LocalKafka({
        port,
        controllerPort,
        dataDir: join(root, 'kafka'),
        logDir: join(root, 'logs', 'kafka'),
        jarsDir: jars.libs,
        heapMb: 768,
      });
      process.env.LASTMETER_KAFKA_JARS = jars.libs;
      await state.kafka.start();
      process.env.KAFKA_BROKERS = state.kafka.brokers;
    }
    if (!process.env.REDIS_URL) {
      state.redis = new infra.LocalRedis({
        port: await infra.freePort(),
        dataDir: join(root, 'redis'),
        logDir: join(root, 'logs'),
        appendOnly: false,
      });
      await state.redis.start();
      process.env.REDIS_URL = state.redis.url;
    }
  } catch (error) {
    await state.kafka?.kill().catch(() => undefined);
    await state.redis?.kill().catch(() => undefined);
    const reason = error instanceof infra.PrerequisiteMissing ? error.message : (error as Error).stack;
    throw new Error(`e2e infrastructure could not be started: ${reason}`);
  }

  // Which suites may run side by side (suite-lock.ts, e2e-environment.ts).
  state.lock = await SuiteLockServer.listen(join(root, 'suite-lock.sock'));
  process.env.LASTMETER_SUITE_LOCK = state.lock.path;
  process.env.LASTMETER_TEST_ROOT = root;
  process.env.LASTMETER_TEST_RUN = Math.random().toString(36).slice(2, 8);
  process.stderr.write(
    `\n[test infra] Kafka ${process.env.KAFKA_BROKERS}, Redis ${process.env.REDIS_URL} ready in ${Date.now() - started} ms\n`,
  );
}
