import {
  createKafkaClient,
  highWatermarkAdmin,
  readWholeTopic,
  topicOffsets,
  type Kafka,
  type LoggedMessage,
} from '@lastmeter/kafka';
import {
  expandFeedBatch,
  FEED_BATCH,
  type DomainEvent,
  type EventEnvelope,
  type FeedBatchRecord,
} from '@lastmeter/contracts';

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

/** Each partition's high watermark: the end of everything written, committed or not. */
async function highWatermarks(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = highWatermarkAdmin(kafka);
  await admin.connect();
  try {
    return new Map((await topicOffsets(admin, topic)).map(({ partition, offset }) => [partition, BigInt(offset)]));
  } finally {
    await admin.disconnect();
  }
}

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

/**
 * Every store's feed as the feed topic has it, in log order: storeId → [feedSeq, change,
 * communication id]. Each entry's aggregateVersion is its feedSeq.
 */
export async function feedsByStore(
  brokers: string,
  topic: string,
): Promise<Map<string, Array<[number, string, string]>>> {
  const entries = await readTopic<DomainEvent<'feed.appended'>>(brokers, topic);
  const byStore = new Map<string, Array<[number, string, string]>>();
  for (const { value } of entries) {
    const { storeId, feedSeq, change, communication } = value.data;
    expect(value.aggregateVersion).toBe(feedSeq);
    byStore.set(storeId, [...(byStore.get(storeId) ?? []), [feedSeq, change, communication.id]]);
  }
  return byStore;
}

/** The events topic as read_committed readers see it, with each drafted communication's title by id. */
export async function eventsAndTitles(
  brokers: string,
  topic: string,
): Promise<{ events: EventEnvelope[]; titles: Map<string, string> }> {
  const events = (await readTopic(brokers, topic)).map((m) => m.value);
  const titles = new Map(
    events
      .filter((e) => e.type === 'communication.drafted')
      .map((e) => [e.aggregateId, (e.data as { title: string }).title]),
  );
  return { events, titles };
}
