import { PartitionWriters } from './partition-writers';
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

  it('opens one transactional writer per assigned partition, with the id of group + topic + partition', async () => {
    writers.reassign([0, 2]);
    await settle();
    const group = `${TOPICS.commands}.decider`;
    expect(writers.groupId).toBe(group);
    expect(producers.map((producer) => producer.transactionalId)).toEqual([
      `${group}.${TOPICS.commands}.0`,
      `${group}.${TOPICS.commands}.2`,
    ]);
    // Fenced (an empty transaction) and caught up before anyone is told it is open.
    expect(producers.every((producer) => producer.transactions[0]?.state === 'aborted')).toBe(true);
    expect(history.catchUps).toEqual([[0], [2]]);
    expect(opened).toEqual([0, 2]);
    expect(writers.owned()).toEqual([0, 2]);
  });

  it('hands out the same writer for a partition until the next assignment', async () => {
    const first = await writers.writerFor(1);
    await expect(writers.writerFor(1)).resolves.toBe(first);
    expect(producers).toHaveLength(1);
    expect(first.partition).toBe(1);
  });

  it('closes the writers of revoked partitions and reopens the kept ones after the old ones are closed', async () => {
    writers.reassign([0, 2]);
    await settle();
    writers.reassign([2]);
    await settle();
    const [old0, old2, new2] = producers;
    expect(old0!.disconnected).toBe(true);
    expect(old2!.disconnected).toBe(true);
    expect(new2!.transactionalId).toBe(old2!.transactionalId);
    expect(new2!.disconnected).toBe(false);
    expect(writers.owned()).toEqual([2]);
  });

  it('forgets a writer that failed to open, so the next request tries again', async () => {
    history.onCatchUp = () => {
      history.onCatchUp = undefined;
      throw new Error('Kafka unreachable');
    };
    await expect(writers.writerFor(4)).rejects.toThrow('Kafka unreachable');
    expect(writers.owned()).toEqual([]);
    await expect(writers.writerFor(4)).resolves.toMatchObject({ partition: 4 });
    expect(producers).toHaveLength(2);
  });

  it('closes every writer on shutdown', async () => {
    writers.reassign([0, 1]);
    await settle();
    await writers.onApplicationShutdown();
    expect(producers.map((producer) => producer.disconnected)).toEqual([true, true]);
    expect(writers.owned()).toEqual([]);
  });
});
