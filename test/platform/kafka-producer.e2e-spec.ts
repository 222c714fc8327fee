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

/**
 * kafkajs looked the transaction coordinator up before every AddPartitionsToTxn and
 * EndTxn, and the group coordinator before every TxnOffsetCommit: four FindCoordinator
 * round trips of a decision's nine. Our patch (patches/kafkajs+2.2.4.patch) remembers
 * them, as the Java client does, until one answers that it is not the coordinator or
 * its connection breaks. That second half needs a coordinator that moves:
 * kafka-cluster and start-cluster (test/platform) kill a broker, which coordinates some
 * of the writers, while they decide, and a writer that kept a dead coordinator would
 * never commit again.
 */
describe('transactional producer (patched kafkajs)', () => {
  const lookups = (producer: ReturnType<typeof createProducer>) => {
    const seen = { count: 0 };
    producer.on(producer.events.REQUEST, ({ payload }) => {
      if (payload.apiName === 'GroupCoordinator') seen.count++;
    });
    return seen;
  };

  it('looks its coordinators up once for many transactions, which all commit', async () => {
    await ensureTopicsAt(ns.env.KAFKA_BROKERS!.split(','), names, { partitions: 6, replicationFactor: 1 });
    const groupId = `${ns.topicPrefix}coordinators`;
    const producer = createProducer(kafka, { transactionalId: `${ns.topicPrefix}coordinators` });
    const seen = lookups(producer);
    await producer.connect();
    const before = seen.count;
    try {
      for (let i = 0; i < 10; i++) {
        const txn = await producer.transaction();
        await txn.send({ topic: names.events, messages: [{ key: 'k', value: `v${i}`, partition: 0 }] });
        await txn.sendOffsets({
          consumerGroupId: groupId,
          topics: [{ topic: names.commands, partitions: [{ partition: 0, offset: String(i + 1) }] }],
        });
        await txn.commit();
      }
    } finally {
      await producer.disconnect();
    }
    // Unpatched: 4 per transaction (40). Patched: the transaction and the group
    // coordinator once each, and again if one was still loading (a brand-new group's
    // first offset commit on a fresh broker answers "coordinator not available").
    expect(seen.count - before).toBeLessThanOrEqual(4);

    const admin = kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [names.commands] });
      expect(offsets.partitions.find((p) => p.partition === 0)?.offset).toBe('10');
      const [{ high, low }] = (await admin.fetchTopicOffsets(names.events)).filter((p) => p.partition === 0);
      // 10 records and 10 commit markers.
      expect(Number(high) - Number(low)).toBeGreaterThanOrEqual(20);
    } finally {
      await admin.disconnect();
    }
  });
});
