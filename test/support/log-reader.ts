import { createKafkaClient } from '@lastmeter/kafka';
import type { EventEnvelope } from '@lastmeter/contracts';

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

/** Every committed message of a topic, from the beginning to the current end. */
export async function readTopic<T = EventEnvelope>(
  brokers: string,
  topic: string,
): Promise<Array<{ partition: number; value: T }>> {
  const kafka = createKafkaClient({ brokers: brokers.split(','), clientId: 'test-reader' });
  const ends = await endOffsets(brokers, topic);
  const pending = new Map(
    Object.entries(ends)
      .filter(([, end]) => end !== '0')
      .map(([p, end]) => [Number(p), BigInt(end)]),
  );
  const messages: Array<{ partition: number; offset: bigint; value: T }> = [];
  if (pending.size === 0) return [];
  const consumer = kafka.consumer({
    groupId: `test-reader-${Math.random().toString(36).slice(2)}`,
    readUncommitted: false,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (BigInt(payload.lastOffset) + 1n >= (pending.get(payload.partition) ?? 0n)) pending.delete(payload.partition);
      if (pending.size === 0) resolve();
    });
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          messages.push({
            partition,
            offset: BigInt(message.offset),
            // A tombstone (compacted topics) has no value.
            value: (message.value ? JSON.parse(message.value.toString()) : null) as T,
          });
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return messages
    .sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1))
    .map(({ partition, value }) => ({ partition, value }));
}
