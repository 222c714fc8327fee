import { createKafkaClient, readWholeTopic } from '@lastmeter/kafka';
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
 * Every committed message of a topic, from the beginning to the current end (parsed JSON;
 * a tombstone is null). A feed batch record counts as the `feed.appended` events it holds
 * (`expandFeedBatch`), one per entry, as every consumer of the feed topic reads it.
 */
export async function readTopic<T = EventEnvelope>(
  brokers: string,
  topic: string,
): Promise<Array<{ partition: number; value: T }>> {
  const kafka = createKafkaClient({ brokers: brokers.split(','), clientId: 'test-reader' });
  return (await readWholeTopic(kafka, topic)).flatMap(({ partition, value }) => {
    const parsed = (value ? JSON.parse(value.toString()) : null) as T | FeedBatchRecord;
    if ((parsed as FeedBatchRecord | null)?.type === FEED_BATCH) {
      return expandFeedBatch(parsed as FeedBatchRecord).map((event) => ({ partition, value: event as T }));
    }
    return [{ partition, value: parsed as T }];
  });
}
