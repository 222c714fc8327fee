import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureKafkaJars, freePort, lastmeterHome, LocalKafka, LocalRedis } from '@lastmeter/infra';
import { requireEnv } from './env';

/**
 * A Kafka and a Redis of the suite's own, for tests that kill and restart them without
 * disturbing the other suites. Restarts reuse the same ports and data.
 */
export class PrivateInfra {
  private constructor(
    readonly kafka: LocalKafka,
    readonly redis: LocalRedis,
    private readonly root: string,
  ) {}

  static async start(): Promise<PrivateInfra> {
    const root = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'private-'));
    const jars = process.env.LASTMETER_KAFKA_JARS ?? (await ensureKafkaJars(lastmeterHome().kafkaJars)).libs;
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    const kafka = new LocalKafka({
      port,
      controllerPort,
      dataDir: join(root, 'kafka'),
      logDir: join(root, 'logs', 'kafka'),
      jarsDir: jars,
      heapMb: 384,
    });
    const redis = new LocalRedis({
      port: await freePort(),
      dataDir: join(root, 'redis'),
      logDir: join(root, 'logs'),
      appendOnly: false,
    });
    await Promise.all([kafka.start(), redis.start()]);
    return new PrivateInfra(kafka, redis, root);
  }

  async stop(): Promise<void> {
    await Promise.all([this.kafka.stop(), this.redis.stop()]);
    rmSync(this.root, { recursive: true, force: true });
  }
}
