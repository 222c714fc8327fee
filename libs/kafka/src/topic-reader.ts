import { randomUUID } from 'node:crypto';
import type { Admin, IHeaders, Kafka } from 'kafkajs';
import { highWatermarkAdmin, topicOffsets, type TopicOffsets } from './topic-offsets';

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

/** How long `readWholeTopic` waits for the transactions open when it is called to end. */
export const OPEN_TRANSACTIONS_WAIT_MS = 5_000;

/**
 * Every message of a topic written when called, once committed, in offset order per
 * partition, for the operational commands (dlq, credentials migrate) and the tests. A
 * record in a transaction still open when called (the apps answer 2xx once a
 * transaction commits, and the broker writes the markers that make it readable a moment
 * later) is waited for (`untilStable`); one still open after `openWaitMs` (a writer
 * killed mid-transaction, aborted only when its successor fences it) is left out, as an
 * aborted one is. The throwaway consumer group is deleted afterwards.
 */
export async function readWholeTopic(
  kafka: Kafka,
  topic: string,
  { openWaitMs = OPEN_TRANSACTIONS_WAIT_MS }: { openWaitMs?: number } = {},
): Promise<LoggedMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${topic}.reader.${randomUUID()}`;
  const messages: LoggedMessage[] = [];
  try {
    const ends = new Map(
      (await untilStable(kafka, admin, topic, openWaitMs))
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

/**
 * Waits until a read_committed reader sees everything written to the topic when called:
 * until each partition's last stable offset has reached the high watermark it had then,
 * or `timeoutMs` has passed. Returns the last stable offsets it read (`admin`'s, the
 * ends for a read_committed reader). A transaction committed and answered for just
 * before the call is then included: its commit returned before the broker wrote the
 * markers that move the last stable offset.
 */
export async function untilStable(kafka: Kafka, admin: Admin, topic: string, timeoutMs: number): Promise<TopicOffsets> {
  const written = await highWatermarks(kafka, topic);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stable = await topicOffsets(admin, topic);
    const behind = stable.filter(({ partition, offset }) => BigInt(offset) < (written.get(partition) ?? 0n));
    if (behind.length === 0 || Date.now() > deadline) return stable;
    await new Promise((resolve) => setTimeout(resolve, 50));
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
