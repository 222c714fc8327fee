import type Redis from 'ioredis';
import { topicNames, type TopicNames } from '@lastmeter/contracts';
import { loadSpec, sharedEnv } from '@lastmeter/config';
import { ClusterInfra, isAlive, lastmeterHome, LocalInfra } from '@lastmeter/infra';
import { createKafkaClient, type Kafka } from '@lastmeter/kafka';
import { createRedisClient } from '@lastmeter/redis';
import { UserFacingError } from './output';

/** What the operational commands (rebuild, dlq) work against. */
export interface Deployment {
  kafka: Kafka;
  redis: Redis;
  topics: TopicNames;
  keyPrefix: string;
  close(): Promise<void>;
}

/**
 * KAFKA_BROKERS / REDIS_URL when set; otherwise the local infrastructure that `npm start`
 * or `lastmeter infra up` runs, or else the cluster profile's (`start-cluster`, `infra up
 * --profile cluster`). Prefixes come from the same variables as the apps'.
 */
export async function connectDeployment(clientId: string): Promise<Deployment> {
  const home = lastmeterHome();
  let status = await new LocalInfra({ home }).status();
  const cluster = new ClusterInfra({ home }).readState();
  const single = status.kafka.kind !== 'stopped' || status.redis.kind !== 'stopped';
  if (!single && cluster && cluster.kafka.some((node) => isAlive(node.pid))) {
    const endpoints = ClusterInfra.endpointsOf(cluster);
    const env = { ...process.env, KAFKA_BROKERS: endpoints.kafkaBrokers, REDIS_URL: endpoints.redisUrl };
    status = await new LocalInfra({ home, env }).status();
  }
  if (status.kafka.kind === 'stopped' || status.redis.kind === 'stopped') {
    throw new UserFacingError(
      'no Kafka or Redis to work on: set KAFKA_BROKERS and REDIS_URL, or run `npm start` (or `lastmeter infra up`) first',
    );
  }
  if (!status.kafka.reachable) throw new UserFacingError(`Kafka at ${status.kafka.address} does not answer`);
  if (!status.redis.reachable) throw new UserFacingError(`Redis at ${status.redis.address} does not answer`);
  const { KAFKA_TOPIC_PREFIX, REDIS_KEY_PREFIX } = loadSpec({
    KAFKA_TOPIC_PREFIX: sharedEnv.KAFKA_TOPIC_PREFIX,
    REDIS_KEY_PREFIX: sharedEnv.REDIS_KEY_PREFIX,
  });
  const kafka = createKafkaClient({
    brokers: status.kafka.address.split(','),
    clientId: `lastmeter-${clientId}`,
  });
  const redis = createRedisClient(status.redis.address, `lastmeter-${clientId}`);
  return {
    kafka,
    redis,
    topics: topicNames(KAFKA_TOPIC_PREFIX),
    keyPrefix: REDIS_KEY_PREFIX,
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
