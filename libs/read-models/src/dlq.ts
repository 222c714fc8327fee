import { randomUUID } from 'node:crypto';
import type { DeadLetter, DlqRecord, TopicNames } from '@lastmeter/contracts';
import { ACKS_ALL, readWholeTopic, type Kafka, type Producer } from '@lastmeter/kafka';
import type { Failure } from './projection';

/** Dead letters are a contract type (libs/contracts/src/dead-letter.ts, in the AsyncAPI document). */
export type { DeadLetter, DeadLetterResolved, DlqRecord } from '@lastmeter/contracts';

export function deadLetterOf(failure: Failure, topics: TopicNames, consumer: string): DeadLetter {
  const { message } = failure;
  const text = message.value?.toString('utf8');
  const lossless = text !== undefined && Buffer.from(text, 'utf8').equals(message.value!);
  return {
    kind: 'dead-letter',
    id: randomUUID(),
    source: { topic: topics[message.topic], partition: message.partition, offset: message.offset },
    error: failure.error,
    failedAt: new Date().toISOString(),
    consumer,
    payload: message.value === null ? null : lossless ? text : message.value.toString('base64'),
    payloadEncoding: lossless || message.value === null ? 'utf8' : 'base64',
  };
}

export function payloadOf(letter: DeadLetter): Buffer | null {
  if (letter.payload === null) return null;
  return Buffer.from(letter.payload, letter.payloadEncoding);
}

/** Sends dead letters (acks=all) before the consumer moves past them. */
export async function sendDeadLetters(
  producer: Producer,
  topics: TopicNames,
  letters: Array<{ key: Buffer | null; record: DlqRecord }>,
): Promise<void> {
  if (letters.length === 0) return;
  await producer.send({
    topic: topics.dlq,
    acks: ACKS_ALL,
    messages: letters.map(({ key, record }) => ({
      key,
      value: JSON.stringify(record),
      headers: { kind: record.kind, ...(record.kind === 'dead-letter' ? { error: record.error.slice(0, 500) } : {}) },
    })),
  });
}

/** Every record of the DLQ topic up to its current end, in offset order per partition. */
export async function readDlq(
  kafka: Kafka,
  topics: TopicNames,
): Promise<Array<{ key: Buffer | null; record: DlqRecord }>> {
  return (await readWholeTopic(kafka, topics.dlq)).map(({ key, value }) => ({
    key,
    record: JSON.parse(value!.toString()) as DlqRecord,
  }));
}

/** Dead letters that no retry has resolved yet, oldest first. */
export function unresolved(records: Array<{ key: Buffer | null; record: DlqRecord }>) {
  const resolved = new Set(records.flatMap(({ record }) => (record.kind === 'resolved' ? [record.resolves] : [])));
  return records
    .filter((r): r is { key: Buffer | null; record: DeadLetter } => r.record.kind === 'dead-letter')
    .filter(({ record }) => !resolved.has(record.id))
    .sort((a, b) => a.record.failedAt.localeCompare(b.record.failedAt));
}
