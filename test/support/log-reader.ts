import { createKafkaClient, readWholeTopic, topicOffsets, type Kafka, type LoggedMessage } from '@lastmeter/kafka';
import { expandFeedBatch, FEED_BATCH, type EventEnvelope, type FeedBatchRecord } from '@lastmeter/contracts';

/** End offsets (read_committed LSO) of every partition of a topic, summed and by partition. */
export async function endOffsets(brokers: string, topic: string): Promise<Record<number, string>> {
  const admin = createKafkaClient({ brokers: brokers.split(','), clientId: 'test-offsets' }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return Object.fromEntries(offsets.map(({ partition, high }) => [partition, high]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * kafkajs's admin lists offsets read_committed only (the last stable offset). This asks a
 * cluster of kafkajs's own, made read_uncommitted, for each partition's high watermark:
 * the end of everything written, committed or not. Test support only: it reaches into
 * kafkajs's private cluster factory (kafkajs 2.2, pinned and patched).
 */
async function highWatermarks(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const factory = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const createCluster = factory && (kafka as unknown as Record<symbol, unknown>)[factory];
  if (typeof createCluster !== 'function') throw new Error('kafkajs has no private cluster factory any more');
  const cluster = (createCluster as (options: object) => KafkajsCluster)({ isolationLevel: READ_UNCOMMITTED });
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId }));
    const [offsets] = await cluster.fetchTopicsOffset([{ topic, fromBeginning: false, partitions }]);
    return new Map(offsets!.partitions.map(({ partition, offset }) => [partition, BigInt(offset)]));
  } finally {
    await cluster.disconnect();
  }
}

/** The parts of kafkajs's private Cluster that `highWatermarks` calls. */
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number }>;
  fetchTopicsOffset(
    topics: Array<{ topic: string; fromBeginning: boolean; partitions: Array<{ partition: number }> }>,
  ): Promise<Array<{ partitions: Array<{ partition: number; offset: string }> }>>;
}

/** ListOffsets' isolation level 0 (kafkajs/src/protocol/isolationLevel). */
const READ_UNCOMMITTED = 0;

/**
 * Waits until a read_committed reader sees everything written to the topic when called:
 * until each partition's last stable offset has reached the high watermark it had then.
 * An app answers 2xx once its transaction is committed, and the broker writes the
 * transaction's markers (which make it visible) a moment later, so a test that reads the
 * log right after an answer would otherwise race them. A transaction still open after
 * `timeoutMs` (a writer killed mid-transaction, aborted only when its successor fences
 * it) is not waited for: the read then returns what is committed, as it always did.
 */
async function untilStable(kafka: Kafka, topic: string, timeoutMs = 5_000): Promise<void> {
  const written = await highWatermarks(kafka, topic);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stable = await topicOffsets(admin, topic);
      const behind = stable.filter(({ partition, offset }) => BigInt(offset) < (written.get(partition) ?? 0n));
      if (behind.length === 0 || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await admin.disconnect();
  }
}

/** `readWholeTopic` once what was written when called is committed (`untilStable`): raw records. */
export async function readCommitted(kafka: Kafka, topic: string): Promise<LoggedMessage[]> {
  await untilStable(kafka, topic);
  return readWholeTopic(kafka, topic);
}

/**
 * Every committed message of a topic, from the beginning to the end of what was written
 * when called, once it is committed (`untilStable`), as parsed JSON (a tombstone is
 * null). A feed batch record counts as the `feed.appended` events it holds
 * (`expandFeedBatch`), one per entry, as every consumer of the feed topic reads it.
 */
export async function readTopic<T = EventEnvelope>(
  brokers: string,
  topic: string,
): Promise<Array<{ partition: number; value: T }>> {
  const kafka = createKafkaClient({ brokers: brokers.split(','), clientId: 'test-reader' });
  return (await readCommitted(kafka, topic)).flatMap(({ partition, value }) => {
    const parsed = (value ? JSON.parse(value.toString()) : null) as T | FeedBatchRecord;
    if ((parsed as FeedBatchRecord | null)?.type === FEED_BATCH) {
      return expandFeedBatch(parsed as FeedBatchRecord).map((event) => ({ partition, value: event as T }));
    }
    return [{ partition, value: parsed as T }];
  });
}
