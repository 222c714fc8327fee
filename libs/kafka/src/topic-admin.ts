import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { TOPIC_ROLES, TOPICS, topicNames, type TopicNames } from '@lastmeter/contracts';
import { loadSpec, sharedEnv } from '@lastmeter/config';
import { createKafkaClient } from './kafka-client';

export interface TopicLayout {
  partitions: number;
  replicationFactor: number;
}

export interface TopicDescription {
  name: string;
  partitions: number;
  config: Record<string, string>;
}

/**
 * Creates the project's topics if they are missing and aligns the configs of those that
 * exist (retention may change between releases). Safe to run from any number of
 * processes at once: "already exists" is success. Partition counts are never changed on
 * an existing topic: keyed data would move partitions.
 */
export async function ensureTopics(admin: Admin, names: TopicNames, layout: TopicLayout): Promise<string[]> {
  try {
    return await ensureTopicsOnce(admin, names, layout);
  } catch (error) {
    // Several processes starting at once race between listTopics and createTopics; a
    // second pass sees what the others created.
    return ensureTopicsOnce(admin, names, layout).catch(() => Promise.reject(error));
  }
}

async function ensureTopicsOnce(admin: Admin, names: TopicNames, layout: TopicLayout): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = TOPIC_ROLES.filter((role) => !existing.has(names[role]));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((role) => ({
        topic: names[role],
        numPartitions: layout.partitions,
        replicationFactor: layout.replicationFactor,
        configEntries: Object.entries(TOPICS[role].config).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  const present = TOPIC_ROLES.filter((role) => existing.has(names[role]));
  if (present.length > 0) {
    await admin.alterConfigs({
      validateOnly: false,
      resources: present.map((role) => ({
        type: ConfigResourceTypes.TOPIC,
        name: names[role],
        configEntries: Object.entries(TOPICS[role].config).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  return missing.map((role) => names[role]);
}

export async function describeTopics(admin: Admin, names: TopicNames): Promise<TopicDescription[]> {
  const topics = TOPIC_ROLES.map((role) => names[role]);
  const metadata = await admin.fetchTopicMetadata({ topics });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  return metadata.topics.map((topic) => {
    const resource = configs.resources.find((r) => r.resourceName === topic.name);
    const config: Record<string, string> = {};
    for (const entry of resource?.configEntries ?? []) config[entry.configName] = entry.configValue;
    return { name: topic.name, partitions: topic.partitions.length, config };
  });
}

/** Connects, ensures the topics, disconnects: for the CLI and tools outside Nest. */
export async function ensureTopicsAt(brokers: string[], names: TopicNames, layout: TopicLayout): Promise<string[]> {
  const admin = createKafkaClient({ brokers, clientId: 'lastmeter-cli' }).admin();
  await admin.connect();
  try {
    return await ensureTopics(admin, names, layout);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The CLI's step before any app starts (apps would race to create them): the topics of
 * the deployment described by the environment (prefix, partitions, replication).
 */
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
