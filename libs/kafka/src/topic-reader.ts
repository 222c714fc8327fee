import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka } from 'kafkajs';
import { topicOffsets } from './topic-offsets';

export interface LoggedMessage {
  partition: number;
  offset: bigint;
  key: Buffer | null;
  /** Null for a tombstone. */
  value: Buffer | null;
  /** The record's headers (`type` on events, commands and feed batches). */
  headers: IHeaders;
  /** The record's timestamp (ms, as Kafka gives it). */
  timestamp?: string;
}

/**
 * Every committed message of a topic up to its end when called, in offset order per
 * partition, for the operational commands (dlq, credentials migrate). The throwaway
 * consumer group is deleted afterwards.
 */
export async function readWholeTopic(kafka: Kafka, topic: string): Promise<LoggedMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${topic}.reader.${randomUUID()}`;
  const messages: LoggedMessage[] = [];
  try {
    const ends = new Map(
      (await topicOffsets(admin, topic))
        .filter(({ offset, low }) => offset !== low)
        .map(({ partition, offset }) => [partition, BigInt(offset)]),
    );
    if (ends.size === 0) return [];
    const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          if (BigInt(payload.lastOffset) + 1n >= (ends.get(payload.partition) ?? 0n)) ends.delete(payload.partition);
          if (ends.size === 0) resolve();
        });
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              if ((ends.get(partition) ?? 0n) <= BigInt(message.offset)) return;
              messages.push({
                partition,
                offset: BigInt(message.offset),
                key: message.key,
                value: message.value,
                headers: message.headers ?? {},
                timestamp: message.timestamp,
              });
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    await admin.deleteGroups([groupId]).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
  return messages.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1));
}
