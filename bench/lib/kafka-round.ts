/**
 * Kafka's own produce → consume of one message, on a scratch topic of the bench's broker,
 * with the producer settings Last Meter uses (idempotent, acks=all) and its projector's
 * consumer settings (maxWaitTimeInMs 50). `kafka-floor` takes many in a row; `end-to-end`
 * takes one right before each publish, so its floor is of the same moments.
 */
import { randomBytes } from 'node:crypto';
import { ACKS_ALL, createKafkaClient, createProducer } from '@lastmeter/kafka';
import { samplePayload } from './payload';
import { createScratchTopics } from './topics';

export const FLOOR_CONSUMER_MAX_WAIT_MS = 50;

export interface KafkaRounds {
  topic: string;
  /** Bytes of each message's value. */
  payloadBytes: number;
  /** One message: ms until the producer's acknowledgement and until the consumer has it. */
  round(): Promise<{ acked: number; consumed: number }>;
  close(): Promise<void>;
}

export async function openKafkaRounds(brokers: string, clientId: string): Promise<KafkaRounds> {
  const kafka = createKafkaClient({ brokers: [brokers], clientId });
  const topic = `bench-floor-${randomBytes(3).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await createScratchTopics(admin, [topic]);
  const producer = createProducer(kafka);
  const consumer = kafka.consumer({ groupId: `${topic}.floor`, maxWaitTimeInMs: FLOOR_CONSUMER_MAX_WAIT_MS });
  const waiting = new Map<number, (at: bigint) => void>();
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const at = process.hrtime.bigint();
      waiting.get(Number(message.key?.toString()))?.(at);
    },
  });
  await joined;
  const body = JSON.stringify(samplePayload());
  let next = 0;
  return {
    topic,
    payloadBytes: body.length,
    async round() {
      const key = next++;
      const consumed = new Promise<bigint>((resolve) => waiting.set(key, resolve));
      const t0 = process.hrtime.bigint();
      await producer.send({ topic, acks: ACKS_ALL, messages: [{ key: String(key), value: body }] });
      const t1 = process.hrtime.bigint();
      const t2 = await consumed;
      waiting.delete(key);
      return { acked: Number(t1 - t0) / 1e6, consumed: Number(t2 - t0) / 1e6 };
    },
    async close() {
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
