import { v5 as uuidv5 } from 'uuid';
import {
  expandFeedBatch,
  FEED_BATCH,
  feedEvent,
  parseRecord,
  type FeedBatchRecord,
  type FeedCommunication,
} from '@lastmeter/contracts';
import { PartitionWriter, transactionalIdOf } from './partition-writer';
import { FakeProducer, TOPICS, eventOf } from './testing';

const GROUP = `${TOPICS.commands}.decider`;

function writerOn(partition = 3) {
  const producers: FakeProducer[] = [];
  const fences: unknown[] = [];
  const doubts: unknown[] = [];
  const writer = new PartitionWriter(
    () => {
      producers.push(new FakeProducer(transactionalIdOf(GROUP, TOPICS, partition)));
      return producers.at(-1)!;
    },
    TOPICS,
    GROUP,
    partition,
    undefined,
    (error, inDoubt) => (inDoubt ? doubts : fences).push(error),
  );
  return { producer: producers[0]!, producers, writer, fences, doubts };
}

const drafted = eventOf('region.defined', { code: 'N', name: 'North' }, { aggregateId: 'north', version: 1 });
const notice: FeedCommunication = { id: 'c1', revision: 1, kind: 'notice', title: 'T', body: 'B', priority: 'normal' };
const at = '2026-11-30T12:00:00.000Z';
const entry = (storeId: string, feedSeq: number) =>
  feedEvent(
    { storeId, feedSeq, change: 'published', communication: notice, sourceVersion: 3 },
    uuidv5(`${storeId}:${feedSeq}`, uuidv5.URL),
    at,
  );
const password = { kind: 'password' as const, userId: 'u1', passwordHash: 'scrypt$x', setAt: '2026-01-01T00:00:00Z' };

describe('PartitionWriter', () => {
  it('has a transactional id made of group, commands topic and partition (the same for every owner)', () => {
    expect(transactionalIdOf(GROUP, TOPICS, 3)).toBe(`${TOPICS.commands}.decider.${TOPICS.commands}.3`);
  });

  it('fences the previous owner on open: connects and ends an empty transaction', async () => {
    const { producer, writer } = writerOn();
    await writer.open();
    expect(producer.connected).toBe(true);
    expect(producer.transactions).toEqual([{ batches: [], offsets: [], state: 'aborted' }]);
  });

  it('appends events, secrets and the command offset in one committed transaction', async () => {
    const { producer, writer } = writerOn(3);
    await writer.append({
      events: [drafted],
      commandOffset: '42',
      credentials: [
        { id: 'u1', record: password },
        { id: 't1', record: null },
      ],
    });
    expect(producer.transactions).toHaveLength(1);
    const [txn] = producer.transactions;
    expect(txn!.state).toBe('committed');
    expect(txn!.batches).toEqual([
      [
        {
          topic: TOPICS.events,
          messages: [{ key: 'north', value: JSON.stringify(drafted), headers: { type: 'region.defined' } }],
        },
        {
          // Pinned to the writer's partition; a tombstone is a null value.
          topic: TOPICS.credentials,
          messages: [
            { key: 'u1', partition: 3, value: JSON.stringify(password), headers: { type: 'credential' } },
            { key: 't1', partition: 3, value: null, headers: { type: 'credential' } },
          ],
        },
      ],
    ]);
    expect(txn!.offsets).toEqual([
      { consumerGroupId: GROUP, topics: [{ topic: TOPICS.commands, partitions: [{ partition: 3, offset: '42' }] }] },
    ]);
  });

  it('carries feed chunks of other partitions in a decision, records first, then the offsets as its group member', async () => {
    const { producer, writer } = writerOn(3);
    const member = { generationId: 12, memberId: 'lastmeter-command-1f2e' };
    await writer.append({
      events: [drafted],
      commandOffset: '42',
      feed: [
        { partition: 0, entries: [entry('s1', 1), entry('s2', 4)] },
        { partition: 0, entries: [entry('s9', 2)] },
        { partition: 7, entries: [entry('s3', 1)] },
        { partition: 8, entries: [] },
      ],
      member,
    });
    const [txn] = producer.transactions;
    expect(txn!.state).toBe('committed');
    const feed = txn!.batches[0]!.find((batch) => batch.topic === TOPICS.feed)!;
    // A record per non-empty chunk, each in its chunk's partition, not the writer's.
    expect(feed.messages.map((m) => m.partition)).toEqual([0, 0, 7]);
    expect(feed.messages.map((m) => parseRecord(m.value!).map((e) => e.aggregateId))).toEqual([
      ['s1', 's2'],
      ['s9'],
      ['s3'],
    ]);
    expect(txn!.offsets).toEqual([
      {
        consumerGroupId: GROUP,
        topics: [{ topic: TOPICS.commands, partitions: [{ partition: 3, offset: '42' }] }],
        generationId: 12,
        memberId: 'lastmeter-command-1f2e',
      },
    ]);
    expect(producer.calls).toEqual(['addOffsets', 'sendBatch', 'sendOffsets', 'commit']);
  });

  it('marks every record of a transaction whose feed entries the notice carries, events too, and none of one it does not', async () => {
    const { producer, writer } = writerOn(3);
    const headersOf = (txn: number, topic: string) =>
      producer.transactions[txn]!.batches[0]!.find((batch) => batch.topic === topic)!.messages.map(
        (m) => m.headers?.noticed,
      );
    const chunk = (partition: number, noticed?: boolean) => ({
      partition,
      entries: [entry('s1', partition + 1)],
      noticed,
    });
    // Carried whole: the projector may let its events and feed records wait.
    await writer.append({ events: [drafted], feed: [chunk(0, true), chunk(7, true), { partition: 8, entries: [] }] });
    expect(headersOf(0, TOPICS.events)).toEqual(['true']);
    expect(headersOf(0, TOPICS.feed)).toEqual(['true', 'true']);
    // A chunk the notice does not carry (a national publish's): nothing waits, not even
    // the chunk it does carry (all or none).
    await writer.append({ events: [drafted], feed: [chunk(0, true), chunk(7)] });
    expect(headersOf(1, TOPICS.events)).toEqual([undefined]);
    expect(headersOf(1, TOPICS.feed)).toEqual([undefined, undefined]);
    // No feed entries at all (a draft, a store): its events are projected at once.
    await writer.append({ events: [drafted] });
    expect(headersOf(2, TOPICS.events)).toEqual([undefined]);
  });

  it('adds the offsets partition while the records are in flight, and commits the offsets only once they are sent', async () => {
    const { producer, writer } = writerOn();
    let land!: () => void;
    producer.batchInFlight = new Promise<void>((resolve) => (land = resolve));
    const appended = writer.append({ events: [drafted], commandOffset: '42' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(producer.calls).toEqual(['addOffsets', 'sendBatch']);
    expect(producer.transactions[0]!.offsetsAdded).toEqual([GROUP]);
    land();
    await appended;
    expect(producer.calls).toEqual(['addOffsets', 'sendBatch', 'sendOffsets', 'commit']);
    expect(producer.transactions[0]!.state).toBe('committed');
  });

  it('waits for the records when adding the offsets partition fails, then aborts and runs the transaction again', async () => {
    const { producer, writer } = writerOn();
    producer.addOffsetsFailures.push(Object.assign(new Error('concurrent'), { type: 'CONCURRENT_TRANSACTIONS' }));
    let land!: () => void;
    producer.batchInFlight = new Promise<void>((resolve) => (land = resolve));
    const appended = writer.append({ events: [drafted], commandOffset: '42' });
    await new Promise((resolve) => setImmediate(resolve));
    // The records are still in flight: no abort yet.
    expect(producer.calls).toEqual(['addOffsets', 'sendBatch']);
    land();
    await appended;
    expect(producer.calls).toEqual([
      'addOffsets',
      'sendBatch',
      'abort',
      'addOffsets',
      'sendBatch',
      'sendOffsets',
      'commit',
    ]);
    expect(producer.transactions.map((t) => t.state)).toEqual(['aborted', 'committed']);
  });

  it('commits no command offset when given none (a system decision, feed entries)', async () => {
    const { producer, writer } = writerOn();
    await writer.append({ feed: [{ partition: 0, entries: [entry('s1', 1)] }] });
    expect(producer.transactions[0]).toMatchObject({ offsets: [], state: 'committed' });
    expect(producer.transactions[0]!.batches[0]!.map((batch) => batch.topic)).toEqual([TOPICS.feed]);
  });

  it('appends feed entries as one batch record in its own partition, each content once, expanding to the same events', async () => {
    const { producer, writer } = writerOn(3);
    const entries = [entry('s1', 1), entry('s2', 7), entry('s3', 2)];
    await writer.append({ feed: [{ partition: 3, entries }] });
    const [feedBatch] = producer.transactions[0]!.batches[0]!;
    expect(feedBatch!.messages).toHaveLength(1);
    const [record] = feedBatch!.messages;
    expect(record).toMatchObject({ key: FEED_BATCH, partition: 3, headers: { type: FEED_BATCH } });
    const parsed = JSON.parse(record!.value!) as FeedBatchRecord;
    expect(parsed.communications).toEqual([notice]);
    expect(expandFeedBatch(parsed)).toEqual(entries);
    expect(parseRecord(record!.value!)).toEqual(entries);
  });

  it('aborts and rethrows when the transaction fails', async () => {
    const { producer, writer } = writerOn();
    producer.failures.push(new Error('Broker not connected'));
    await expect(writer.append({ events: [drafted], commandOffset: '1' })).rejects.toThrow('Broker not connected');
    expect(producer.transactions.map((txn) => txn.state)).toEqual(['aborted']);
  });

  it('takes no transaction after a failed one (its sends were in doubt) and says so, nor a new epoch: that would fence a new owner', async () => {
    const { producers, writer, doubts, fences } = writerOn();
    await writer.open();
    const timedOut = new Error('Request Produce(key: 0, version: 7) timed out');
    producers[0]!.failures.push(timedOut);
    await expect(writer.append({ events: [drafted], commandOffset: '1' })).rejects.toThrow('timed out');
    expect(doubts).toEqual([timedOut]);
    expect(fences).toEqual([]);

    // Refused without reaching the broker: only a new assignment opens a new writer.
    const transactions = producers[0]!.transactions.length;
    await expect(writer.append({ events: [drafted], commandOffset: '1' })).rejects.toThrow(
      "partition 3's writer is in doubt",
    );
    expect(producers).toHaveLength(1);
    expect(producers[0]!.transactions).toHaveLength(transactions);
    expect(producers[0]!.disconnected).toBe(false);
  });

  it.each([
    ['fenced', { type: 'PRODUCER_FENCED' }],
    ['an older epoch', { type: 'INVALID_PRODUCER_EPOCH' }],
    ['a stale group member (KIP-447)', { type: 'ILLEGAL_GENERATION' }],
  ])('keeps its producer after it was %s, and says so: a new epoch would fence the new owner', async (_, cause) => {
    const { producers, writer, fences } = writerOn();
    const refused = new Error('refused', { cause });
    producers[0]!.failures.push(refused);
    await expect(writer.append({ events: [drafted], commandOffset: '1' })).rejects.toThrow('refused');
    expect(fences).toEqual([refused]);
    await writer.append({ events: [drafted], commandOffset: '1' }).catch(() => undefined);
    expect(producers).toHaveLength(1);
  });

  it('reports no fence for other failures, and none for CONCURRENT_TRANSACTIONS, which it runs again', async () => {
    const { producer, writer, fences, doubts } = writerOn();
    producer.failures.push(new Error('wrapped', { cause: { type: 'CONCURRENT_TRANSACTIONS' } }));
    await writer.append({ events: [drafted], commandOffset: '1' });
    expect([fences, doubts]).toEqual([[], []]);
    const gone = new Error('Broker not connected');
    producer.failures.push(gone);
    await expect(writer.append({ events: [drafted], commandOffset: '1' })).rejects.toThrow('Broker not connected');
    expect([fences, doubts]).toEqual([[], [gone]]);
  });

  it('runs the transaction again after CONCURRENT_TRANSACTIONS, found anywhere in the cause chain', async () => {
    const { producer, writer } = writerOn();
    producer.failures.push(new Error('wrapped', { cause: { type: 'CONCURRENT_TRANSACTIONS' } }));
    producer.failures.push({ message: 'There is already a concurrent operation on the same transaction' });
    await writer.append({ events: [drafted], commandOffset: '7' });
    expect(producer.transactions.map((txn) => txn.state)).toEqual(['aborted', 'aborted', 'committed']);
  });

  it('calls `committed` once the transaction committed, before the append resolves, and never for one that failed', async () => {
    const { producer, writer } = writerOn();
    const seen: string[] = [];
    const committed = () => seen.push(producer.transactions.map((txn) => txn.state).join(','));
    // Run again after CONCURRENT_TRANSACTIONS: called once, for the committed run.
    producer.failures.push(new Error('wrapped', { cause: { type: 'CONCURRENT_TRANSACTIONS' } }));
    await writer.append({ events: [drafted], commandOffset: '1', committed });
    expect(seen).toEqual(['aborted,committed']);
    producer.failures.push(new Error('Broker not connected'));
    await expect(writer.append({ events: [drafted], commandOffset: '2', committed })).rejects.toThrow(
      'Broker not connected',
    );
    expect(seen).toEqual(['aborted,committed']);
  });

  it('runs queued work one at a time, in order, also after a failure', async () => {
    const { writer } = writerOn();
    const order: string[] = [];
    const slow = writer.serialize(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push('first');
      throw new Error('first failed');
    });
    const fast = writer.serialize(async () => {
      order.push('second');
      return 2;
    });
    await expect(slow).rejects.toThrow('first failed');
    await expect(fast).resolves.toBe(2);
    expect(order).toEqual(['first', 'second']);
  });

  it('disconnects its producer on close', async () => {
    const { producer, writer } = writerOn();
    await writer.close();
    expect(producer.disconnected).toBe(true);
  });
});
