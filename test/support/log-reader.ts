import { createKafkaClient, OPEN_TRANSACTIONS_WAIT_MS, readWholeTopic, untilStable } from '@lastmeter/kafka';
import {
  expandFeedBatch,
  FEED_BATCH,
  type DomainEvent,
  type EventEnvelope,
  type FeedBatchRecord,
} from '@lastmeter/contracts';

/**
 * End offsets of every partition of a topic (read_committed: the last stable offsets),
 * once they have caught up with the high watermarks they had when called, for up to 5 s
 * (`untilStable`, as `readTopic` waits): a commit returns to its producer (and an HTTP
 * answer goes out) before the broker writes the transaction's markers, which move the
 * last stable offset. Read too early, a write answered before a "nothing written"
 * snapshot would show up as written after it.
 */
export async function endOffsets(brokers: string, topic: string): Promise<Record<number, string>> {
  const ends = (await settledEndOffsets(brokers, [topic]))[topic];
  if (!ends) throw new Error(`the end offsets of ${topic} cannot be read`);
  return ends;
}

/** `endOffsets` of several topics, by topic (a topic that cannot be read is left out). */
export async function settledEndOffsets(
  brokers: string,
  topics: string[],
): Promise<Record<string, Record<number, string>>> {
  const kafka = createKafkaClient({ brokers: brokers.split(','), clientId: 'test-offsets' });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends: Record<string, Record<number, string>> = {};
    await Promise.all(
      topics.map(async (topic) => {
        const stable = await untilStable(kafka, admin, topic, OPEN_TRANSACTIONS_WAIT_MS).catch(() => undefined);
        if (stable) ends[topic] = Object.fromEntries(stable.map(({ partition, offset }) => [partition, offset]));
      }),
    );
    return ends;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Every committed message of a topic, from the beginning to the end of what was written
 * when called, once it is committed (`readWholeTopic`), as parsed JSON (a tombstone is
 * null). A feed batch record counts as the `feed.appended` events it holds
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
