import { topicNames } from '@lastmeter/contracts';
import { ACKS_ALL, createKafkaClient, createProducer, ensureTopicsAt } from '@lastmeter/kafka';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';

/**
 * The decider's premise: with the same partition count, an aggregate id lands on the
 * same partition number in the commands and the events topic.
 */
const ns = testNamespace('producer', { KAFKA_PARTITIONS: '6' });
const names = topicNames(ns.topicPrefix);
const kafka = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'producer-test' });

afterAll(() => cleanupNamespace(ns));

it('places every key on the same partition of the commands and events topics', async () => {
  await ensureTopicsAt(ns.env.KAFKA_BROKERS!.split(','), names, { partitions: 6, replicationFactor: 1 });
  const producer = createProducer(kafka);
  await producer.connect();
  const keys = Array.from({ length: 40 }, (_, i) => `aggregate-${i}`);
  try {
    for (const topic of [names.commands, names.events]) {
      await producer.send({ topic, acks: ACKS_ALL, messages: keys.map((key) => ({ key, value: key })) });
    }
  } finally {
    await producer.disconnect();
  }

  const partitionsOf = async (topic: string) => {
    const consumer = kafka.consumer({ groupId: `${ns.topicPrefix}${topic}-reader` });
    const seen = new Map<string, number>();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message, partition }) => {
            seen.set(message.key!.toString(), partition);
            if (seen.size === keys.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    return seen;
  };
  const commands = await partitionsOf(names.commands);
  const events = await partitionsOf(names.events);
  expect(new Set(commands.values()).size).toBeGreaterThan(1);
  for (const key of keys) expect(events.get(key)).toBe(commands.get(key));
});
