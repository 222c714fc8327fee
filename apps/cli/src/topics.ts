import { topicNames } from '@lastmeter/contracts';
import { loadSpec, sharedEnv } from '@lastmeter/config';
import { ensureTopicsAt } from '@lastmeter/kafka';

/** Creates the contract's topics before any app starts (apps would race to create them). */
export async function ensureTopicsFromEnv(brokers: string, log: (line: string) => void): Promise<void> {
  const { KAFKA_TOPIC_PREFIX, KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR } = loadSpec({
    KAFKA_TOPIC_PREFIX: sharedEnv.KAFKA_TOPIC_PREFIX,
    KAFKA_PARTITIONS: sharedEnv.KAFKA_PARTITIONS,
    KAFKA_REPLICATION_FACTOR: sharedEnv.KAFKA_REPLICATION_FACTOR,
  });
  const created = await ensureTopicsAt(brokers.split(','), topicNames(KAFKA_TOPIC_PREFIX), {
    partitions: KAFKA_PARTITIONS,
    replicationFactor: KAFKA_REPLICATION_FACTOR,
  });
  if (created.length > 0) log(`created topics ${created.join(', ')} (${KAFKA_PARTITIONS} partitions each)`);
}
