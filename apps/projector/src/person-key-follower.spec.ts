import type Redis from 'ioredis';
import type { SharedConfig } from '@lastmeter/config';
import type { TopicNames } from '@lastmeter/contracts';
import type { Kafka } from '@lastmeter/kafka';
import { PersonKeyFollower } from './person-key-follower';

type Listener = (event: { payload: Record<string, unknown> }) => void;

/** A kafkajs consumer driven by the test: it hands batches and events to the follower. */
class ScriptedConsumer {
  readonly events = { END_BATCH_PROCESS: 'end-batch', CRASH: 'crash' };
  readonly listeners = new Map<string, Listener>();
  eachBatch?: (args: { batch: { messages: Array<{ key: Buffer; value: Buffer | null }> } }) => Promise<void>;
  disconnected = false;

  constructor(readonly config: { retry?: { restartOnFailure?: (error: Error) => Promise<boolean> } }) {}

  on(name: string, listener: Listener): void {
    this.listeners.set(name, listener);
  }
  async connect(): Promise<void> {}
  async subscribe(): Promise<void> {}
  async run(options: { eachBatch: NonNullable<ScriptedConsumer['eachBatch']> }): Promise<void> {
    this.eachBatch = options.eachBatch;
  }
  async disconnect(): Promise<void> {
    this.disconnected = true;
  }

  /** One batch of person-key records (null: a tombstone) ending at `lastOffset`. */
  async deliver(records: Array<[string, string | null]>, lastOffset: number): Promise<void> {
    await this.eachBatch!({
      batch: {
        messages: records.map(([id, key]) => ({
          key: Buffer.from(id),
          value: key === null ? null : Buffer.from(JSON.stringify({ key })),
        })),
      },
    });
    this.listeners.get('end-batch')!({ payload: { partition: 0, lastOffset: String(lastOffset) } });
  }
}

/** The Redis the mirror writes: every applied pipeline, as the person-key fields it set or deleted. */
function recordingRedis() {
  const applied: Array<Record<string, string | null>> = [];
  const redis = {
    pipeline() {
      const fields: Record<string, string | null> = {};
      const pipeline = {
        hset: (_key: string, id: string, value: string) => ((fields[id] = value), pipeline),
        hdel: (_key: string, id: string) => ((fields[id] = null), pipeline),
        set: () => pipeline,
        exec: async () => (applied.push(fields), []),
      };
      return pipeline;
    },
    exists: async () => 1,
  };
  return { redis: redis as unknown as Redis, applied };
}

function follower() {
  const consumers: ScriptedConsumer[] = [];
  const kafka = {
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      // Three records in partition 0: the first start reads to offset 3.
      fetchTopicOffsets: async () => [{ partition: 0, offset: '3', low: '0', high: '3' }],
    }),
    consumer: (config: ScriptedConsumer['config']) => {
      consumers.push(new ScriptedConsumer(config));
      return consumers.at(-1)!;
    },
  } as unknown as Kafka;
  const { redis, applied } = recordingRedis();
  const service = new PersonKeyFollower(
    kafka,
    redis,
    { personKeys: 'lastmeter.person-keys.v1' } as TopicNames,
    { REDIS_KEY_PREFIX: 'lm:' } as SharedConfig,
    { ready: async () => undefined } as never,
  );
  return { service, consumers, applied };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

it('reads the topic again as one final state when its consumer stops, never letting kafkajs restart it', async () => {
  const { service, consumers, applied } = follower();
  service.onApplicationBootstrap();
  await settle();
  try {
    const [first] = consumers;
    expect(await first!.config.retry!.restartOnFailure!(new Error('any'))).toBe(false);
    // Ann's key, Bob's key, then Ann erased: applied at once, Ann's key never written.
    await first!.deliver(
      [
        ['ann', 'k-ann'],
        ['bob', 'k-bob'],
      ],
      1,
    );
    await first!.deliver([['ann', null]], 2);
    await settle();
    expect(applied).toEqual([{ bob: 'k-bob', ann: null }]);

    first!.listeners.get('crash')!({ payload: { error: new Error('Redis unreachable'), restart: false } });
    await settle();
    expect(consumers).toHaveLength(2);
    // The new consumer reads from the start again, in other batches: still one final state.
    const [, second] = consumers;
    await second!.deliver([['ann', 'k-ann']], 0);
    await second!.deliver(
      [
        ['bob', 'k-bob'],
        ['ann', null],
      ],
      2,
    );
    await settle();
    expect(applied).toEqual([
      { bob: 'k-bob', ann: null },
      { ann: null, bob: 'k-bob' },
    ]);
    expect(applied.some((fields) => fields.ann === 'k-ann')).toBe(false);
    // Later records are applied as they come.
    await second!.deliver([['cy', 'k-cy']], 3);
    await settle();
    expect(applied.at(-1)).toEqual({ cy: 'k-cy' });
  } finally {
    await service.onApplicationShutdown();
  }
});

it('ignores a crash of a consumer it has already replaced, and any after shutdown', async () => {
  const { service, consumers } = follower();
  service.onApplicationBootstrap();
  await settle();
  const [first] = consumers;
  first!.listeners.get('crash')!({ payload: { error: new Error('gone'), restart: false } });
  await settle();
  expect(consumers).toHaveLength(2);
  first!.listeners.get('crash')!({ payload: { error: new Error('gone again'), restart: false } });
  await settle();
  expect(consumers).toHaveLength(2);
  await service.onApplicationShutdown();
  consumers[1]!.listeners.get('crash')!({ payload: { error: new Error('after shutdown'), restart: false } });
  await settle();
  expect(consumers).toHaveLength(2);
});
