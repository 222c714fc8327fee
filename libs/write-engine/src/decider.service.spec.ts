import type { Kafka } from '@lastmeter/kafka';
import { DeciderService, FENCED_GRACE_MS } from './decider.service';
import type { EventTail } from './event-tail';
import type { PartitionDecider } from './partition-decider';
import type { Fence, PartitionWriters } from './partition-writers';
import type { InRequestDecider } from './ports';

interface ConsumerOptions {
  retry?: { restartOnFailure?: (error: Error) => Promise<boolean> };
}

/** A kafkajs consumer whose subscribe fails when told to: the rest succeeds. */
function fakeConsumer(subscribeFails: boolean) {
  const listeners = new Map<string, (event: { payload: unknown }) => void>();
  return {
    events: { GROUP_JOIN: 'join', CRASH: 'crash' },
    listeners,
    on: (name: string, listener: (event: { payload: unknown }) => void) => listeners.set(name, listener),
    connect: jest.fn(async () => undefined),
    subscribe: jest.fn(async () => {
      if (subscribeFails) throw new Error('broker gone');
    }),
    run: jest.fn(async () => undefined),
    disconnect: jest.fn(async () => undefined),
    options: undefined as ConsumerOptions | undefined,
  };
}

function deciderWith(
  consumers: Array<ReturnType<typeof fakeConsumer>>,
  tail: Pick<EventTail, 'start'> = { start: async () => undefined },
  inRequest?: InRequestDecider,
) {
  // The commands topic has 3 partitions (the decider learns it before joining).
  const admin = {
    connect: jest.fn(async () => undefined),
    fetchTopicMetadata: jest.fn(async () => ({
      topics: [{ name: 'commands', partitions: [0, 1, 2].map((partitionId) => ({ partitionId })) }],
    })),
    disconnect: jest.fn(async () => undefined),
  };
  // Each consumer keeps the options it was made with (its restartOnFailure).
  const kafka = {
    consumer: jest.fn((options: ConsumerOptions) => Object.assign(consumers.shift()!, { options })),
    admin: () => admin,
  } as unknown as Kafka;
  // The pool's assignment count and fence listeners, as PartitionWriters keeps them.
  const fenceListeners: Array<(fence: Fence) => void> = [];
  const pool = {
    groupId: 'deciders',
    assignment: 1,
    reassign: jest.fn(() => void pool.assignment++),
    onFenced: (listener: (fence: Fence) => void) => fenceListeners.push(listener),
  };
  const writers = pool as unknown as PartitionWriters;
  const decider = {} as PartitionDecider;
  const service = new DeciderService(
    kafka,
    { commands: 'commands' } as never,
    { ready: async () => undefined } as never,
    tail as EventTail,
    writers,
    decider,
    inRequest,
  );
  /** A writer of the current assignment refused as fenced. */
  const fence = (partition = 3, inDoubt = false) =>
    fenceListeners.forEach((listener) =>
      listener({
        partition,
        assignment: pool.assignment,
        error: new Error(inDoubt ? 'Request Produce timed out' : 'producer fenced'),
        inDoubt,
      }),
    );
  return { service, kafka, pool, fence, decider, admin };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

it('disconnects a consumer whose start failed half-way, and a rejoin makes a new one', async () => {
  const crashed = fakeConsumer(false);
  const failing = fakeConsumer(true);
  const next = fakeConsumer(false);
  const { service, kafka } = deciderWith([crashed, failing, next]);
  service.onApplicationBootstrap();
  await jest.advanceTimersByTimeAsync(0);
  expect(crashed.run).toHaveBeenCalledTimes(1);

  // Fenced: kafkajs will not restart it, so the service joins again with a new consumer.
  crashed.listeners.get('crash')!({ payload: { restart: false, error: new Error('old epoch') } });
  await jest.advanceTimersByTimeAsync(1_000);
  expect(failing.subscribe).toHaveBeenCalledTimes(1);
  expect(failing.disconnect).toHaveBeenCalledTimes(1);
  expect(failing.run).not.toHaveBeenCalled();

  // And tries again after the failed attempt.
  await jest.advanceTimersByTimeAsync(1_000);
  expect(next.run).toHaveBeenCalledTimes(1);
  expect(next.disconnect).not.toHaveBeenCalled();
  expect(kafka.consumer).toHaveBeenCalledTimes(3);
  await service.onApplicationShutdown();
  expect(next.disconnect).toHaveBeenCalledTimes(1);
});

it('lets kafkajs restart only its current consumer: one it left stays out of the group', async () => {
  const first = fakeConsumer(false);
  const second = fakeConsumer(false);
  const { service, pool } = deciderWith([first, second]);
  service.onApplicationBootstrap();
  await jest.advanceTimersByTimeAsync(0);
  const restart = (consumer: ReturnType<typeof fakeConsumer>) =>
    consumer.options!.retry!.restartOnFailure!(new Error('Connection error: write after end'));
  await expect(restart(first)).resolves.toBe(true);

  // In doubt: the service leaves with the first consumer and joins with a second. The
  // first then crashes with a retriable error while being disconnected (kafkajs would
  // restart it a moment later, and the instance would be in the group twice).
  (service as unknown as { fenced(fence: Fence): void }).fenced({
    partition: 1,
    assignment: pool.assignment,
    error: new Error('Request Produce timed out'),
    inDoubt: true,
  });
  await expect(restart(first)).resolves.toBe(false);
  await jest.advanceTimersByTimeAsync(1_000);
  expect(second.run).toHaveBeenCalledTimes(1);
  await expect(restart(first)).resolves.toBe(false);
  await expect(restart(second)).resolves.toBe(true);

  // Had it been restarted anyway, its assignment is not taken: it is disconnected.
  const assignments = pool.reassign.mock.calls.length;
  const disconnects = first.disconnect.mock.calls.length;
  first.listeners.get('join')!({
    payload: { memberAssignment: { commands: [0, 2] }, memberId: 'm-1', generationId: 7 },
  });
  expect(pool.reassign).toHaveBeenCalledTimes(assignments);
  expect(first.disconnect).toHaveBeenCalledTimes(disconnects + 1);
  second.listeners.get('join')!({ payload: { memberAssignment: { commands: [1] }, memberId: 'm-2', generationId: 7 } });
  expect(pool.reassign).toHaveBeenLastCalledWith([1], { generationId: 7, memberId: 'm-2' });

  await service.onApplicationShutdown();
  await expect(restart(second)).resolves.toBe(false);
});

it('tries a failed start again, with a growing pause, until the log is read and the group joined', async () => {
  const consumer = fakeConsumer(false);
  const start = jest
    .fn<Promise<void>, []>()
    .mockRejectedValueOnce(new Error('Redis unreachable'))
    .mockRejectedValueOnce(new Error('Redis unreachable'))
    .mockResolvedValue(undefined);
  const { service, kafka } = deciderWith([consumer], { start });
  service.onApplicationBootstrap();
  await jest.advanceTimersByTimeAsync(0);
  expect(start).toHaveBeenCalledTimes(1);
  expect(kafka.consumer).not.toHaveBeenCalled();

  await jest.advanceTimersByTimeAsync(1_000);
  expect(start).toHaveBeenCalledTimes(2);
  // The second failure waits twice as long.
  await jest.advanceTimersByTimeAsync(1_999);
  expect(start).toHaveBeenCalledTimes(2);
  await jest.advanceTimersByTimeAsync(1);
  expect(start).toHaveBeenCalledTimes(3);
  expect(consumer.run).toHaveBeenCalledTimes(1);
  await service.onApplicationShutdown();
});

it('stops trying once shut down', async () => {
  const start = jest.fn<Promise<void>, []>().mockRejectedValue(new Error('Kafka unreachable'));
  const { service, kafka } = deciderWith([], { start });
  service.onApplicationBootstrap();
  await jest.advanceTimersByTimeAsync(0);
  await service.onApplicationShutdown();
  await jest.advanceTimersByTimeAsync(60_000);
  expect(start).toHaveBeenCalledTimes(1);
  expect(kafka.consumer).not.toHaveBeenCalled();
});

it('leaves and joins the group again when a writer stays fenced without a rebalance', async () => {
  const first = fakeConsumer(false);
  const second = fakeConsumer(false);
  const { service, kafka, pool, fence } = deciderWith([first, second]);
  service.onApplicationBootstrap();
  await jest.advanceTimersByTimeAsync(0);
  fence();
  fence(5);
  // A rebalance may still come (a new owner fenced it): nothing happens before the grace ends.
  await jest.advanceTimersByTimeAsync(FENCED_GRACE_MS - 1);
  expect(first.disconnect).not.toHaveBeenCalled();
  expect(pool.reassign).not.toHaveBeenCalled();

  // None came: the writers are dropped and one new consumer joins (two fences, one rejoin).
  await jest.advanceTimersByTimeAsync(1);
  expect(pool.reassign).toHaveBeenCalledWith([]);
  expect(first.disconnect).toHaveBeenCalledTimes(1);
  await jest.advanceTimersByTimeAsync(1_000 + FENCED_GRACE_MS);
  expect(kafka.consumer).toHaveBeenCalledTimes(2);
  expect(second.run).toHaveBeenCalledTimes(1);
  expect(pool.reassign).toHaveBeenCalledTimes(1);
  await service.onApplicationShutdown();
});

it('leaves and joins the group again at once when a writer is in doubt: only an assignment opens a new one', async () => {
  const first = fakeConsumer(false);
  const second = fakeConsumer(false);
  const { service, kafka, pool, fence } = deciderWith([first, second]);
  service.onApplicationBootstrap();
  await jest.advanceTimersByTimeAsync(0);
  fence(3, true);
  fence(5, true);
  expect(pool.reassign).toHaveBeenCalledWith([]);
  await jest.advanceTimersByTimeAsync(0);
  expect(first.disconnect).toHaveBeenCalledTimes(1);
  await jest.advanceTimersByTimeAsync(1_000);
  expect(kafka.consumer).toHaveBeenCalledTimes(2);
  expect(second.run).toHaveBeenCalledTimes(1);
  expect(pool.reassign).toHaveBeenCalledTimes(1);
  await service.onApplicationShutdown();
});

it('does not leave the group for a fence that a rebalance followed', async () => {
  const consumer = fakeConsumer(false);
  const { service, kafka, pool, fence } = deciderWith([consumer]);
  service.onApplicationBootstrap();
  await jest.advanceTimersByTimeAsync(0);
  fence();
  // This instance's own rebalance: its consumer joined again and was assigned partitions.
  consumer.listeners.get('join')!({ payload: { memberAssignment: { commands: [3] }, memberId: 'm', generationId: 2 } });
  await jest.advanceTimersByTimeAsync(FENCED_GRACE_MS * 2);
  expect(pool.reassign).toHaveBeenCalledTimes(1);
  expect(consumer.disconnect).not.toHaveBeenCalled();
  expect(kafka.consumer).toHaveBeenCalledTimes(1);
  await service.onApplicationShutdown();
});

it("tells the decider the commands topic's partition count before joining (to decide commands in their request)", async () => {
  const consumer = fakeConsumer(false);
  const { service, decider, admin } = deciderWith([consumer], undefined, { decideInRequest: async () => false });
  service.onApplicationBootstrap();
  await jest.advanceTimersByTimeAsync(0);
  expect(decider.commandPartitions).toBe(3);
  expect(admin.disconnect).toHaveBeenCalledTimes(1);
  expect(consumer.run).toHaveBeenCalledTimes(1);
  await service.onApplicationShutdown();
});

it('reads no partition count when commands are not decided in their request (COMMAND_DECIDE_IN_REQUEST off)', async () => {
  const consumer = fakeConsumer(false);
  const { service, decider, admin } = deciderWith([consumer]);
  service.onApplicationBootstrap();
  await jest.advanceTimersByTimeAsync(0);
  expect(decider.commandPartitions).toBeUndefined();
  expect(admin.connect).not.toHaveBeenCalled();
  expect(consumer.run).toHaveBeenCalledTimes(1);
  await service.onApplicationShutdown();
});
