import { GroupCommit, GroupCommitFull } from './group-commit';

/** A flush that settles when the test says so, recording what each flush carried. */
function controlledFlush() {
  const flushes: Array<{ items: number[]; resolve: () => void; reject: (error: Error) => void }> = [];
  const flush = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      flushes.push({ items, resolve, reject });
    });
  return { flushes, flush };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('sends the first item at once and groups what arrives while a flush is in flight', async () => {
    const { flushes, flush } = controlledFlush();
    const group = new GroupCommit(flush, { maxBatch: 100, maxQueued: 1_000 });
    const settled: number[] = [];
    const push = (n: number) => void group.push(n).then(() => settled.push(n));

    push(1);
    expect(flushes.map((f) => f.items)).toEqual([[1]]);
    push(2);
    push(3);
    push(4);
    expect(flushes).toHaveLength(1);
    expect(group.queued).toBe(3);

    flushes[0].resolve();
    await tick();
    expect(settled).toEqual([1]);
    expect(flushes.map((f) => f.items)).toEqual([[1], [2, 3, 4]]);
    flushes[1].resolve();
    await tick();
    expect(settled).toEqual([1, 2, 3, 4]);
    expect(group.queued).toBe(0);
  });

  it('caps a flush at maxBatch, keeping the order', async () => {
    const { flushes, flush } = controlledFlush();
    const group = new GroupCommit(flush, { maxBatch: 2, maxQueued: 1_000 });
    for (const n of [1, 2, 3, 4, 5, 6]) void group.push(n);
    flushes[0].resolve();
    await tick();
    flushes[1].resolve();
    await tick();
    flushes[2].resolve();
    await tick();
    expect(flushes.map((f) => f.items)).toEqual([[1], [2, 3], [4, 5], [6]]);
  });

  it('rejects every item of a failed flush with its error, and goes on with the next', async () => {
    const { flushes, flush } = controlledFlush();
    const group = new GroupCommit(flush, { maxBatch: 100, maxQueued: 1_000 });
    const outcomes: string[] = [];
    const push = (n: number) =>
      void group.push(n).then(
        () => outcomes.push(`${n} ok`),
        (error: Error) => outcomes.push(`${n} ${error.message}`),
      );
    push(1);
    push(2);
    push(3);
    flushes[0].reject(new Error('broker gone'));
    await tick();
    flushes[1].resolve();
    await tick();
    expect(outcomes).toEqual(['1 broker gone', '2 ok', '3 ok']);
  });

  it('a flush that throws instead of rejecting fails its items the same way', async () => {
    const group = new GroupCommit<number>(
      () => {
        throw new Error('not connected');
      },
      { maxBatch: 10, maxQueued: 10 },
    );
    await expect(group.push(1)).rejects.toThrow('not connected');
  });

  it('refuses at once beyond maxQueued, and takes items again once there is room', async () => {
    const { flushes, flush } = controlledFlush();
    const group = new GroupCommit(flush, { maxBatch: 100, maxQueued: 2 });
    void group.push(1); // in flight: not queued
    void group.push(2);
    void group.push(3);
    await expect(group.push(4)).rejects.toBeInstanceOf(GroupCommitFull);
    expect(flushes).toHaveLength(1);

    flushes[0].resolve();
    await tick();
    expect(flushes[1].items).toEqual([2, 3]);
    const five = group.push(5);
    expect(group.queued).toBe(1);
    flushes[1].resolve();
    await tick();
    flushes[2].resolve();
    await expect(five).resolves.toBeUndefined();
  });
});
