import { ACKS_ALL, createKafkaClient, createProducer, readWholeTopic, type Producer } from '@lastmeter/kafka';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';

/**
 * `readWholeTopic`, which the operational commands (`lastmeter dlq`, `lastmeter
 * credentials migrate`) read a topic with: everything written when it is called, once
 * committed. A record of a transaction still open at that moment is read once the
 * transaction commits, not left out because its markers came a moment later; one whose
 * transaction stays open past the wait is left out, and the rest is still returned.
 */
const ns = testNamespace('topic-reader');
const brokers = ns.env.KAFKA_BROKERS!.split(',');
const kafka = createKafkaClient({ brokers, clientId: 'topic-reader-test' });
const topic = `${ns.topicPrefix}reader`;
const producers: Producer[] = [];

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const plain = createProducer(kafka);
  producers.push(plain);
  await plain.connect();
  await plain.send({ topic, acks: ACKS_ALL, messages: [{ key: 'a', value: 'committed before', partition: 0 }] });
});

afterAll(async () => {
  await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
  await cleanupNamespace(ns);
});

async function transactional(name: string): Promise<Producer> {
  const producer = createProducer(kafka, { transactionalId: `${ns.topicPrefix}${name}` });
  producers.push(producer);
  await producer.connect();
  return producer;
}

const values = (messages: Awaited<ReturnType<typeof readWholeTopic>>) => messages.map((m) => m.value?.toString());

it('reads a record whose transaction was open when called, once it commits', async () => {
  const producer = await transactional('commits-later');
  const transaction = await producer.transaction();
  await transaction.send({ topic, messages: [{ key: 'b', value: 'open when read', partition: 1 }] });

  const read = readWholeTopic(kafka, topic);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await transaction.commit();

  expect(values(await read)).toEqual(['committed before', 'open when read']);
});

it('leaves out a transaction still open after the wait, and returns what is committed', async () => {
  const producer = await transactional('stays-open');
  const transaction = await producer.transaction();
  await transaction.send({ topic, messages: [{ key: 'c', value: 'never committed', partition: 0 }] });
  try {
    const read = values(await readWholeTopic(kafka, topic, { openWaitMs: 300 }));
    expect(read).toContain('committed before');
    expect(read).not.toContain('never committed');
  } finally {
    await transaction.abort();
  }
});
