import type Redis from 'ioredis';
import { topicNames, type TopicNames } from '@lastmeter/contracts';
import { loadSpec, sharedEnv } from '@lastmeter/config';
import { lastmeterHome, LocalInfra } from '@lastmeter/infra';
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
 * or `lastmeter infra up` runs. Prefixes come from the same variables as the apps'.
 */
export async function connectDeployment(clientId: string): Promise<Deployment> {
  const status = await new LocalInfra({ home: lastmeterHome() }).status();
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
