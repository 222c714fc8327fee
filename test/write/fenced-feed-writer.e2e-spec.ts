import { topicNames } from '@lastmeter/contracts';
import { createKafkaClient, createProducer } from '@lastmeter/kafka';
import { feedTransactionalIdOf } from '@lastmeter/write-engine';
import { startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { feedsByStore } from '../support/log-reader';
import { Publisher } from '../support/write-api';

/**
 * A partition's feed writer fenced while its instance keeps the partition: the
 * transaction coordinator does that when it aborts a transaction left open past its
 * timeout (broker trouble), bumping the producer epoch, and no rebalance follows. Here
 * the epoch is bumped the way the coordinator and a new owner both do, by
 * InitProducerId on the writer's transactional id (FENCED_GRACE_MS, decider.service.ts).
 * The instance must notice that no rebalance came, join its group again with new
 * writers, and sequence what it could not: no store misses an entry, none gets one twice.
 */
const ns = testNamespace('fenced-feed-writer', { KAFKA_PARTITIONS: '1' });
const topics = topicNames(ns.topicPrefix);
const brokers = ns.env.KAFKA_BROKERS!;

let command: RunningApp | undefined;
let api: Publisher;

beforeAll(async () => {
  command = await startApp('command', ns.env);
  api = new Publisher(command.url, ns);
});

afterAll(async () => {
  await command?.stop();
  await cleanupNamespace(ns);
});

/** Bumps the epoch of partition 0's feed writer, as a coordinator's timeout abort does. */
async function fenceFeedWriter(): Promise<void> {
  const kafka = createKafkaClient({ brokers: brokers.split(','), clientId: 'fenced-feed-writer-test' });
  const producer = createProducer(kafka, {
    transactionalId: feedTransactionalIdOf(`${topics.commands}.decider`, topics, 0),
  });
  await producer.connect();
  try {
    await (await producer.transaction()).abort();
  } finally {
    await producer.disconnect();
  }
}

const feedOf = async (storeId: string) => (await feedsByStore(brokers, topics.feed)).get(storeId) ?? [];

it('joins its group again when a feed writer stays fenced, and sequences every store once', async () => {
  const region = await api.region('N');
  const first = await api.store('S1', region);
  const notice = await api.publish({ title: 'Before the fence' });
  await eventually(async () => expect(await feedOf(first)).toEqual([[1, 'published', notice]]), {
    what: 'the first store to have the notice',
  });

  await fenceFeedWriter();
  // A store registered now is sequenced by the feed writer (a store's feed is planned by
  // the sequencer's pass, not in the decision that registers it): its append is refused.
  const second = await api.store('S2', region);
  await eventually(
    async () => expect(command!.output.join('\n')).toMatch(/writer was fenced .* joining the decider group again/),
    { timeoutMs: 60_000, what: 'the command service to leave and join its group again' },
  );
  await eventually(async () => expect(await feedOf(second)).toEqual([[1, 'published', notice]]), {
    timeoutMs: 60_000,
    what: 'the store registered after the fence to have the notice',
  });

  // The new writers decide and sequence as before: the next publish reaches both, once,
  // and a later store gets both notices.
  const next = await api.publish({ title: 'After the fence' });
  const third = await api.store('S3', region);
  await eventually(
    async () => {
      const feeds = await feedsByStore(brokers, topics.feed);
      expect(feeds.get(first)).toEqual([
        [1, 'published', notice],
        [2, 'published', next],
      ]);
      expect(feeds.get(second)).toEqual([
        [1, 'published', notice],
        [2, 'published', next],
      ]);
      expect(feeds.get(third)?.map(([seq, , id]) => [seq, id])).toEqual(
        expect.arrayContaining([
          [1, expect.any(String)],
          [2, expect.any(String)],
        ]),
      );
      expect(new Set(feeds.get(third)?.map(([, , id]) => id))).toEqual(new Set([notice, next]));
      expect(feeds.get(third)).toHaveLength(2);
    },
    { timeoutMs: 30_000, what: 'both notices in every feed, once' },
  );
});
