/**
 * Kafka floor: produce → consume latency of one message on the bench's broker, with the
 * producer settings Last Meter uses (idempotent, acks=all) and the consumer settings of
 * its projector (maxWaitTimeInMs 50), one message at a time. Nothing Last Meter does can
 * deliver faster than this.
 */
import { randomBytes } from 'node:crypto';
import { ACKS_ALL, createKafkaClient, createProducer } from '@lastmeter/kafka';
import { samplePayload } from './lib/payload';
import { sized, summary, thin, writeScenario } from './lib/results';
import { benchInfra, runMain } from './support';

const MESSAGES = sized({ full: 500, quick: 200, tiny: 20 });

async function main(): Promise<void> {
  const infra = await benchInfra();
  const kafka = createKafkaClient({ brokers: [infra.brokers], clientId: 'bench-kafka-floor' });
  const topic = `bench-floor-${randomBytes(3).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 12, replicationFactor: 1 }], waitForLeaders: true });
  const producer = createProducer(kafka);
  const consumer = kafka.consumer({ groupId: `${topic}.floor`, maxWaitTimeInMs: 50 });
  const waiting = new Map<number, (at: bigint) => void>();
  try {
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
    const endToEnd: number[] = [];
    const acked: number[] = [];
    for (let i = -20; i < MESSAGES; i++) {
      // The first 20 warm up connections and metadata; they are not counted.
      const consumed = new Promise<bigint>((resolve) => waiting.set(i, resolve));
      const t0 = process.hrtime.bigint();
      await producer.send({ topic, acks: ACKS_ALL, messages: [{ key: String(i), value: body }] });
      const t1 = process.hrtime.bigint();
      const t2 = await consumed;
      waiting.delete(i);
      if (i >= 0) {
        acked.push(Number(t1 - t0) / 1e6);
        endToEnd.push(Number(t2 - t0) / 1e6);
      }
    }
    const e2e = summary(endToEnd);
    const ack = summary(acked);
    writeScenario({
      scenario: 'kafka-floor',
      title: 'Kafka floor: produce → consume, idempotent acks=all',
      parameters: { messages: MESSAGES, partitions: 12, payloadBytes: body.length, consumerMaxWaitMs: 50 },
      metrics: [
        { name: 'produce → consume p50', unit: 'ms', value: e2e.p50, lowerIsBetter: true },
        { name: 'produce → consume p99', unit: 'ms', value: e2e.p99, lowerIsBetter: true },
        { name: 'produce acknowledged (acks=all) p50', unit: 'ms', value: ack.p50, lowerIsBetter: true },
      ],
      samples: { 'Kafka produce → consume': thin(endToEnd) },
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await infra.stop();
  }
}

runMain(main);
