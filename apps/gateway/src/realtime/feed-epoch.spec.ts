import { topicNames } from '@lastmeter/contracts';
import type { Kafka } from '@lastmeter/kafka';
import { FeedEpoch } from './feed-epoch';

/** A Kafka whose admin answers describeCluster with `clusterId`, or fails while `down`. */
function fakeKafka(clusterId: string) {
  const state = { down: false, asked: 0 };
  const kafka = {
    admin: () => ({
      connect: async () => {
        if (state.down) throw new Error('Connection refused');
      },
      describeCluster: async () => {
        state.asked++;
        return { clusterId, brokers: [], controller: 1 };
      },
      disconnect: async () => undefined,
    }),
  } as unknown as Kafka;
  return { kafka, state };
}

it('asks Kafka once, as the gateway starts; handshakes then have the epoch without asking again', async () => {
  const { kafka, state } = fakeKafka('cluster-a');
  const epoch = new FeedEpoch(kafka, topicNames());
  expect(epoch.onApplicationBootstrap()).toBeUndefined(); // in the background: the bootstrap does not wait
  await new Promise((resolve) => setImmediate(resolve));
  expect(state.asked).toBe(1); // asked before any handshake
  const first = await epoch.get();
  expect(state.asked).toBe(1);
  expect(await Promise.all([epoch.get(), epoch.get()])).toEqual([first, first]);
  expect(state.asked).toBe(1);
  expect(first).toMatch(/^[\w-]{12}$/);
  expect(await new FeedEpoch(fakeKafka('cluster-b').kafka, topicNames()).get()).not.toBe(first);
});

it('a start while Kafka is down leaves nothing broken: the first handshake asks again', async () => {
  const { kafka, state } = fakeKafka('cluster-a');
  const epoch = new FeedEpoch(kafka, topicNames());
  state.down = true;
  epoch.onApplicationBootstrap(); // fails, unawaited, without an unhandled rejection
  await new Promise((resolve) => setImmediate(resolve));
  await expect(epoch.get()).rejects.toThrow('Connection refused');
  state.down = false;
  expect(await epoch.get()).toMatch(/^[\w-]{12}$/);
  expect(state.asked).toBe(1);
});
