import { createKafkaClient } from '@lastmeter/kafka';
import { createRedisClient } from '@lastmeter/redis';
import type { TestNamespace } from './env';
import { suiteKeys } from './suite-keys';

/** Deletes the suite's topics and keys, so a shared Kafka/Redis is left as found. */
export async function cleanupNamespace(ns: TestNamespace): Promise<void> {
  const admin = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test-cleanup' }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(ns.topicPrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
  const redis = createRedisClient(ns.env.REDIS_URL!, 'test-cleanup');
  try {
    const keys = await suiteKeys(redis, ns);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  } finally {
    redis.disconnect();
  }
}
