import { v5 as uuidv5 } from 'uuid';
import { FEED_BATCH, feedBatchRecord, feedEvent, topicNames, type DomainEvent } from '@lastmeter/contracts';
import {
  ACKS_ALL,
  createKafkaClient,
  createProducer,
  ensureTopicsAt,
  joinedMember,
  type Consumer,
} from '@lastmeter/kafka';
import {
  ACKNOWLEDGED_WRITES,
  AggregateStore,
  CredentialStore,
  EventTail,
  FeedLedger,
  PartitionWriter,
  type GroupMember,
} from '@lastmeter/write-engine';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';

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

/**
 * KIP-447 through our kafkajs patch (TxnOffsetCommit v3 with the member's generation): a
 * decision that carries the feed entries of other partitions (FeedSequencer.withinDecision)
 * is fenced there by its offsets, which the group coordinator refuses once a rebalance has
 * moved on from the generation they name; the transaction is then aborted, its records
 * never visible.
 */
describe('transactional offsets as a group member (KIP-447, patched kafkajs)', () => {
  const consumers: Consumer[] = [];
  afterAll(() => Promise.all(consumers.map((consumer) => consumer.disconnect().catch(() => undefined))));

  /** A real member of `groupId`: every generation it joins, as the decider records them. */
  const join = async (groupId: string) => {
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 500 });
    consumers.push(consumer);
    const joins: GroupMember[] = [];
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      // Without the kafkajs patch the event has no generation: recorded as -1, which the
      // test below refuses.
      joins.push(joinedMember(payload) ?? { generationId: -1, memberId: payload.memberId });
    });
    await consumer.connect();
    await consumer.subscribe({ topic: names.commands });
    await consumer.run({ eachMessage: async () => undefined });
    return { consumer, joins };
  };
  const notice = { id: 'c1', revision: 1, kind: 'notice', title: 'T', body: 'B', priority: 'normal' } as const;
  const entry = (storeId: string) =>
    feedEvent(
      { storeId, feedSeq: 1, change: 'published', communication: notice, sourceVersion: 3 },
      uuidv5(`${storeId}:1`, uuidv5.URL),
      '2026-12-03T12:00:00.000Z',
    );

  it('refuses the offsets of a stale generation and of a departed member, whose records stay invisible, and commits the current member', async () => {
    await ensureTopicsAt(ns.env.KAFKA_BROKERS!.split(','), names, { partitions: 6, replicationFactor: 1 });
    const groupId = `${ns.topicPrefix}kip447`;
    const a = await join(groupId);
    await eventually(() => expect(a.joins).toHaveLength(1), { timeoutMs: 30_000, what: 'A in the group' });
    const first = a.joins[0]!;
    expect(first.generationId).toBeGreaterThanOrEqual(0);
    // B joins: a rebalance, A joins again with the next generation.
    const b = await join(groupId);
    await eventually(
      () => {
        expect(b.joins.length).toBeGreaterThanOrEqual(1);
        expect(a.joins.at(-1)!.generationId).toBe(b.joins.at(-1)!.generationId);
      },
      { timeoutMs: 30_000, what: 'A and B in the same generation' },
    );
    expect(a.joins.at(-1)!.generationId).toBeGreaterThan(first.generationId);

    const producer = createProducer(kafka, { transactionalId: `${ns.topicPrefix}kip447-writer` });
    const writer = new PartitionWriter(() => producer, names, groupId, 0);
    await writer.open();
    try {
      const decision = (storeId: string, offset: string, member: GroupMember) =>
        writer.append({ feed: [{ partition: 4, entries: [entry(storeId)] }], commandOffset: offset, member });
      await expect(decision('stale', '5', first)).rejects.toThrow(/generation/i);
      await decision('current', '7', a.joins.at(-1)!);
      // B leaves: its member id is no longer in the group (a zombie's, after its session ended).
      const departed = b.joins.at(-1)!;
      await b.consumer.disconnect();
      await eventually(() => expect(a.joins.at(-1)!.generationId).toBeGreaterThan(departed.generationId), {
        timeoutMs: 30_000,
        what: 'the rebalance after B left',
      });
      await expect(decision('departed', '9', departed)).rejects.toThrow(/member|generation/i);
      await decision('after', '11', a.joins.at(-1)!);
    } finally {
      await writer.close();
    }

    const feed = await readTopic(ns.env.KAFKA_BROKERS!, names.feed);
    expect(feed.filter((m) => m.partition === 4).map((m) => m.value.aggregateId)).toEqual(['current', 'after']);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [names.commands] });
      expect(offsets!.partitions.find((p) => p.partition === 0)?.offset).toBe('11');
    } finally {
      await admin.disconnect();
    }
  });
});

/**
 * A new owner of a feed partition reads it to its high watermark before numbering there
 * (PartitionWriters.open): a decision of the previous owner's, on another partition's
 * transactional id that the new owner does not fence, may still be open on it.
 */
it('catches a feed partition up to its high watermark: waits for a transaction open on it, then has what it committed', async () => {
  await ensureTopicsAt(ns.env.KAFKA_BROKERS!.split(','), names, { partitions: 6, replicationFactor: 1 });
  const ledger = new FeedLedger();
  const tail = new EventTail(kafka, names, new AggregateStore(), ledger, new CredentialStore(), {
    ready: async () => undefined,
  } as never);
  const producer = createProducer(kafka, { transactionalId: `${ns.topicPrefix}open-on-feed` });
  await producer.connect();
  try {
    await tail.start();
    await tail.catchUp([2]);
    const txn = await producer.transaction();
    const notice = { id: 'c9', revision: 1, kind: 'notice', title: 'T', body: 'B', priority: 'normal' } as const;
    const entry = feedEvent(
      { storeId: 'held', feedSeq: 1, change: 'published', communication: notice, sourceVersion: 3 },
      uuidv5('held:1', uuidv5.URL),
      '2026-12-03T12:00:00.000Z',
    ) as DomainEvent<'feed.appended'>;
    await txn.send({
      topic: names.feed,
      messages: [{ key: FEED_BATCH, partition: 2, value: JSON.stringify(feedBatchRecord([entry])) }],
    });
    // To the last stable offset: at once, without the open transaction's entry.
    await tail.catchUp([2]);
    expect(ledger.of('held').head).toBe(0);
    // To the high watermark: not before the transaction ends.
    let caughtUp = false;
    const toHighWatermark = tail.catchUp([2], { toHighWatermark: ['feed'] }).then(() => (caughtUp = true));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(caughtUp).toBe(false);
    await txn.commit();
    await toHighWatermark;
    expect(ledger.of('held').head).toBe(1);
  } finally {
    await producer.disconnect();
    await tail.onApplicationShutdown();
  }
});

/**
 * A directory read (a login on one command instance of a user that another has just
 * created): the creator answers once its commit returns, which can be before the broker
 * has written the transaction's markers, so the last stable offset may still be short of
 * it. ACKNOWLEDGED_WRITES reads the events and credentials topics to their high
 * watermarks, bounded for a transaction that a crashed instance left open.
 */
it('catches the credentials topic up to its high watermark for a directory read, and gives up on a transaction left open', async () => {
  await ensureTopicsAt(ns.env.KAFKA_BROKERS!.split(','), names, { partitions: 6, replicationFactor: 1 });
  const credentials = new CredentialStore();
  const tail = new EventTail(kafka, names, new AggregateStore(), new FeedLedger(), credentials, {
    ready: async () => undefined,
  } as never);
  const producer = createProducer(kafka, { transactionalId: `${ns.topicPrefix}open-on-credentials` });
  await producer.connect();
  try {
    await tail.start();
    await tail.catchUp([3]);
    const txn = await producer.transaction();
    const record = {
      kind: 'password',
      userId: 'u-held',
      passwordHash: 'scrypt$held',
      setAt: '2026-12-05T12:00:00.000Z',
    };
    await txn.send({
      topic: names.credentials,
      messages: [{ key: 'u-held', partition: 3, value: JSON.stringify(record) }],
    });
    // To the last stable offset: at once, without the open transaction's record.
    await tail.catchUp([3]);
    expect(credentials.passwordHashOf('u-held')).toBeUndefined();
    // Bounded: a transaction still open when the wait is over is given up on.
    await tail.catchUp([3], { ...ACKNOWLEDGED_WRITES, highWatermarkWaitMs: 300 });
    expect(credentials.passwordHashOf('u-held')).toBeUndefined();
    // To the high watermark: not before the transaction ends, then with what it committed.
    let caughtUp = false;
    const acknowledged = tail.catchUp([3], ACKNOWLEDGED_WRITES).then(() => (caughtUp = true));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(caughtUp).toBe(false);
    await txn.commit();
    await acknowledged;
    expect(credentials.passwordHashOf('u-held')).toBe('scrypt$held');
  } finally {
    await producer.disconnect();
    await tail.onApplicationShutdown();
  }
});
