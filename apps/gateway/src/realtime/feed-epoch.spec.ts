import { topicNames } from '@lastmeter/contracts';
import type { Kafka } from '@lastmeter/kafka';
import { FeedEpoch } from './feed-epoch';

/**
 * A Kafka whose admin answers describeCluster with `clusterId`; fails to connect while
 * `down`; never answers while `hanging` (a request stuck on a loaded broker).
 */
function fakeKafka(clusterId: string) {
  const state = { down: false, hanging: false, asked: 0, admins: 0, disconnected: 0 };
  const kafka = {
    admin: () => {
      state.admins++;
      return {
        connect: async () => {
          if (state.down) throw new Error('Connection refused');
        },
        describeCluster: () => {
          state.asked++;
          if (state.hanging) return new Promise(() => undefined);
          return Promise.resolve({ clusterId, brokers: [], controller: 1 });
        },
        disconnect: async () => {
          state.disconnected++;
        },
      };
    },
  } as unknown as Kafka;
  return { kafka, state };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

let epochs: FeedEpoch[] = [];
function feedEpoch(kafka: Kafka): FeedEpoch {
  const epoch = new FeedEpoch(kafka, topicNames());
  epochs.push(epoch);
  return epoch;
}
afterEach(() => {
  for (const epoch of epochs) epoch.onModuleDestroy();
  epochs = [];
  jest.useRealTimers();
});

it('asks Kafka once, as the gateway starts; handshakes then have the epoch without asking again', async () => {
  const { kafka, state } = fakeKafka('cluster-a');
  const epoch = feedEpoch(kafka);
  expect(epoch.onApplicationBootstrap()).toBeUndefined(); // in the background: the bootstrap does not wait
  await settle();
  expect(state.asked).toBe(1); // asked before any handshake
  const first = await epoch.get();
  expect(state.asked).toBe(1);
  expect(await Promise.all([epoch.get(), epoch.get()])).toEqual([first, first]);
  expect(state.asked).toBe(1);
  expect(state.disconnected).toBe(1);
  expect(first).toMatch(/^[\w-]{12}$/);
  expect(await feedEpoch(fakeKafka('cluster-b').kafka).get()).not.toBe(first);
});

it('a start while Kafka is down keeps trying in the background; a handshake meanwhile is refused, not held', async () => {
  jest.useFakeTimers();
  const { kafka, state } = fakeKafka('cluster-a');
  const epoch = feedEpoch(kafka);
  state.down = true;
  epoch.onApplicationBootstrap(); // fails, unawaited, without an unhandled rejection
  await jest.advanceTimersByTimeAsync(0);
  expect(state.admins).toBe(1);
  // A handshake: the attempt it finds failed, and one more of its own.
  await expect(epoch.get()).rejects.toThrow('Connection refused');
  expect(state.admins).toBe(3);
  state.down = false;
  await jest.advanceTimersByTimeAsync(1_000); // the background retry, 1 s after the first failure
  expect(state.asked).toBe(1);
  const known = await epoch.get();
  expect(known).toMatch(/^[\w-]{12}$/);
  expect(state.asked).toBe(1); // learnt in the background, not by the handshake
});

it('gives up an attempt that hangs and makes a fresh one: a handshake waits for two attempts at most', async () => {
  jest.useFakeTimers();
  const { kafka, state } = fakeKafka('cluster-a');
  const epoch = feedEpoch(kafka);
  epoch.attemptMs = 5_000;
  state.hanging = true;
  epoch.onApplicationBootstrap();
  await jest.advanceTimersByTimeAsync(4_000);
  // A handshake joins the hanging attempt; when it is given up, the handshake's own fresh
  // attempt answers (the broker answers new requests again).
  const handshake = epoch.get();
  state.hanging = false;
  await jest.advanceTimersByTimeAsync(1_000);
  expect(await handshake).toMatch(/^[\w-]{12}$/);
  expect(state.admins).toBe(2);
  expect(state.disconnected).toBe(2); // the given-up attempt's admin too, without waiting for it

  // Hanging for good: refused after two bounded attempts, never held longer.
  const stuck = fakeKafka('cluster-b');
  const other = feedEpoch(stuck.kafka);
  other.attemptMs = 5_000;
  stuck.state.hanging = true;
  const refused = other.get();
  const outcome = refused.then(
    () => 'answered',
    (error: Error) => error.message,
  );
  await jest.advanceTimersByTimeAsync(10_000);
  expect(await outcome).toBe('Kafka did not describe the cluster within 5000 ms');
});
