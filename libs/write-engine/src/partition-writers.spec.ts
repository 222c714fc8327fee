import { PartitionNotAssigned, PartitionWriters } from './partition-writers';
import { FakeHistory, FakeProducer, TOPICS } from './testing';

describe('PartitionWriters', () => {
  let producers: FakeProducer[];
  let history: FakeHistory;
  let writers: PartitionWriters;
  let opened: number[];

  beforeEach(() => {
    producers = [];
    history = new FakeHistory();
    writers = new PartitionWriters(
      (transactionalId) => {
        const producer = new FakeProducer(transactionalId);
        producers.push(producer);
        return producer;
      },
      TOPICS,
      history,
    );
    opened = [];
    writers.onOpened((partition) => opened.push(partition));
  });

  /** Lets the writers' opening (fence, catch up) run. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('opens two transactional writers per assigned partition, decisions and feed, with ids of group + topic + partition', async () => {
    expect(writers.member()).toBeUndefined();
    writers.reassign([0, 2], { generationId: 3, memberId: 'm-1' });
    expect(writers.member()).toEqual({ generationId: 3, memberId: 'm-1' });
    await settle();
    const group = `${TOPICS.commands}.decider`;
    expect(writers.groupId).toBe(group);
    expect(producers.map((producer) => producer.transactionalId)).toEqual([
      `${group}.${TOPICS.commands}.0`,
      `${group}.${TOPICS.commands}.0.feed`,
      `${group}.${TOPICS.commands}.2`,
      `${group}.${TOPICS.commands}.2.feed`,
    ]);
    // Fenced (an empty transaction) and caught up before anyone is told it is open.
    expect(producers.every((producer) => producer.transactions[0]?.state === 'aborted')).toBe(true);
    expect(history.catchUps).toEqual([[0], [2]]);
    // The feed partitions to their high watermark: another partition's decision may be open there.
    expect(history.toHighWatermark).toEqual([0, 1]);
    expect(opened).toEqual([0, 2]);
    expect(writers.owned()).toEqual([0, 2]);
  });

  it('hands out, without opening one, only the writer of an assigned partition that is open and caught up', async () => {
    writers.reassign([1]);
    // Still fencing and catching up: not yet.
    expect(writers.openedWriter(1)).toBeUndefined();
    await settle();
    expect(writers.openedWriter(1)).toBe(await writers.writerFor(1));
    expect(writers.openedWriter(3)).toBeUndefined();
    expect(writers.owned()).toEqual([1]);
    // A new assignment drops it at once.
    writers.reassign([3]);
    expect(writers.openedWriter(1)).toBeUndefined();
    await settle();
    expect(writers.openedWriter(3)).toBeDefined();
  });

  it('catches no partition up before every writer of the assignment has fenced its predecessor', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    writers = new PartitionWriters(
      (transactionalId) => {
        const producer = new FakeProducer(transactionalId);
        // Partition 2's decisions producer is slow to connect (and so to fence).
        if (transactionalId.endsWith('.2')) {
          const connect = producer.connect.bind(producer);
          producer.connect = async () => {
            await gate;
            await connect();
          };
        }
        producers.push(producer);
        return producer;
      },
      TOPICS,
      history,
    );
    writers.reassign([0, 2], { generationId: 4, memberId: 'm-1' });
    for (let i = 0; i < 5; i++) await settle();
    // Partition 0 is fenced, but read only once partition 2 is fenced too.
    expect(producers.filter((p) => p.transactionalId.includes('.0')).every((p) => p.transactions.length === 1)).toBe(
      true,
    );
    expect(history.catchUps).toEqual([]);
    release();
    for (let i = 0; i < 5; i++) await settle();
    expect([...history.catchUps].sort()).toEqual([[0], [2]]);
  });

  it('hands out the same writers for a partition until the next assignment', async () => {
    writers.reassign([1]);
    const first = await writers.writerFor(1);
    const feed = await writers.feedWriterFor(1);
    await expect(writers.writerFor(1)).resolves.toBe(first);
    await expect(writers.feedWriterFor(1)).resolves.toBe(feed);
    expect(feed).not.toBe(first);
    expect(producers).toHaveLength(2);
    expect([first.partition, feed.partition]).toEqual([1, 1]);
  });

  it('appends the feed on its own producer, so it never waits behind a decision', async () => {
    writers.reassign([3]);
    const decisions = await writers.writerFor(3);
    const feed = await writers.feedWriterFor(3);
    let release!: () => void;
    // A decision holding its writer's queue does not hold the feed's.
    const held = decisions.serialize(() => new Promise<void>((resolve) => (release = resolve)));
    await feed.serialize(() => feed.append({ feed: [] }));
    const [decisionProducer, feedProducer] = producers;
    expect(feedProducer!.transactions.at(-1)?.state).toBe('committed');
    expect(decisionProducer!.transactions.map((t) => t.state)).toEqual(['aborted']);
    release();
    await held;
  });

  it('closes the writers of revoked partitions and reopens the kept ones after the old ones are closed', async () => {
    writers.reassign([0, 2]);
    await settle();
    writers.reassign([2]);
    await settle();
    const [old0, old0feed, old2, old2feed, new2, new2feed] = producers;
    expect([old0, old0feed, old2, old2feed].map((producer) => producer!.disconnected)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(new2!.transactionalId).toBe(old2!.transactionalId);
    expect(new2feed!.transactionalId).toBe(old2feed!.transactionalId);
    expect([new2, new2feed].map((producer) => producer!.disconnected)).toEqual([false, false]);
    expect(writers.owned()).toEqual([2]);
  });

  it('tells of a fenced writer with the assignment it was opened for', async () => {
    const fences: Array<{ partition: number; assignment: number }> = [];
    writers.onFenced(({ partition, assignment }) => fences.push({ partition, assignment }));
    writers.reassign([1]);
    const first = writers.assignment;
    const feed = await writers.feedWriterFor(1);
    producers[1]!.failures.push(new Error('fenced', { cause: { type: 'PRODUCER_FENCED' } }));
    await expect(feed.append({ feed: [] })).rejects.toThrow('fenced');
    expect(fences).toEqual([{ partition: 1, assignment: first }]);

    // A writer of an earlier assignment, fenced by its successor, tells its own: older than now.
    writers.reassign([1]);
    expect(writers.assignment).toBeGreaterThan(first);
    producers[1]!.failures.push(new Error('fenced', { cause: { type: 'INVALID_PRODUCER_EPOCH' } }));
    await expect(feed.append({ feed: [] })).rejects.toThrow('fenced');
    expect(fences).toEqual([
      { partition: 1, assignment: first },
      { partition: 1, assignment: first },
    ]);
  });

  it('forgets a writer that failed to open, so the next request tries again', async () => {
    history.onCatchUp = () => {
      history.onCatchUp = undefined;
      throw new Error('Kafka unreachable');
    };
    writers.reassign([4]);
    await expect(writers.writerFor(4)).rejects.toThrow('Kafka unreachable');
    expect(writers.owned()).toEqual([]);
    await expect(writers.writerFor(4)).resolves.toMatchObject({ partition: 4 });
    expect(producers).toHaveLength(4);
    // The failed attempt's producers were closed, not left connected.
    expect(producers.slice(0, 2).every((producer) => producer.disconnected)).toBe(true);
  });

  it('opens no writer for a partition the current assignment does not hold: its new epoch would fence the owner', async () => {
    writers.reassign([1, 2]);
    await settle();
    // A scheduler tick, feed pass or fetched batch that began before the rebalance still
    // names partition 1.
    writers.reassign([2]);
    await settle();
    const before = producers.length;
    await expect(writers.writerFor(1)).rejects.toBeInstanceOf(PartitionNotAssigned);
    await expect(writers.feedWriterFor(1)).rejects.toThrow('partition 1 is not assigned to this instance');
    expect(producers).toHaveLength(before);
    expect(writers.owned()).toEqual([2]);
    // After leaving the group (an empty assignment) none at all.
    writers.reassign([]);
    await expect(writers.writerFor(2)).rejects.toBeInstanceOf(PartitionNotAssigned);
    expect(producers).toHaveLength(before);
  });

  it('closes every writer on shutdown', async () => {
    writers.reassign([0, 1]);
    await settle();
    await writers.onApplicationShutdown();
    expect(producers.map((producer) => producer.disconnected)).toEqual([true, true, true, true]);
    expect(writers.owned()).toEqual([]);
  });
});
