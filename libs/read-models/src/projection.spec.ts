import type Redis from 'ioredis';
import { feedBatchRecord, feedEvent, type FeedCommunication } from '@lastmeter/contracts';
import { Projection } from './projection';
import { RedisKeys } from './redis-keys';

/**
 * A Redis port that records each pipeline's commands (scripts by name) and answers every
 * one with 1; MGET finds no documents.
 */
function recordingRedis() {
  const pipelines: string[][][] = [];
  const scripts = new Set<string>();
  const redis = {
    defineCommand: (name: string) => scripts.add(name),
    mget: async (keys: string[]) => keys.map(() => null),
    pipeline() {
      const commands: string[][] = [];
      const pipeline: Record<string, unknown> = {
        call: (...args: string[]) => commands.push(args.map(String)),
        exec: async () => {
          pipelines.push(commands);
          return commands.map(() => [null, 1]);
        },
      };
      for (const name of scripts) pipeline[name] = (...args: string[]) => commands.push([name, ...args.map(String)]);
      return pipeline;
    },
  };
  return { redis: redis as unknown as Redis, pipelines };
}

const communication: FeedCommunication = {
  id: '11111111-1111-4111-8111-111111111111',
  revision: 2,
  kind: 'notice',
  title: 'Revised',
  body: '',
  priority: 'normal',
};

describe('Projection', () => {
  it("writes what a terminal's receipt is checked against in the feed's pipeline, before the appends", async () => {
    const { redis, pipelines } = recordingRedis();
    const projection = new Projection(redis, new RedisKeys('lm:', 'g1'));
    const entries = ['s1', 's2'].map((storeId, i) =>
      feedEvent(
        { storeId, feedSeq: 1, change: 'published', communication, sourceVersion: 3 },
        `00000000-0000-4000-8000-00000000000${i}`,
      ),
    );
    const value = Buffer.from(JSON.stringify(feedBatchRecord(entries)));
    const appended: unknown[] = [];
    const result = await projection.apply([{ topic: 'feed', partition: 0, offset: '0', key: null, value }], {
      onFeed: async (items) => void appended.push(...items),
    });
    expect(result.failed).toEqual([]);

    const [first, rest] = pipelines;
    const names = first!.map(([name, key]) => `${name} ${key}`);
    const targeted = names.indexOf(`SADD lm:g1:reach:${communication.id}:targeted`);
    const revision = names.indexOf(`lmMax lm:g1:comm:${communication.id}:revision`);
    const appends = names.flatMap((name, i) => (name.startsWith('lmAppendFeed') ? [i] : []));
    expect(appends).toHaveLength(2);
    // Both stores in one SADD, and the revision, ahead of every append.
    expect(first![targeted]).toEqual(['SADD', `lm:g1:reach:${communication.id}:targeted`, 's1', 's2']);
    expect(first![revision]).toEqual(['lmMax', `lm:g1:comm:${communication.id}:revision`, '2']);
    expect(Math.max(targeted, revision)).toBeLessThan(Math.min(...appends));
    // The gateways were told after that pipeline; the rest of the batch does not repeat it.
    // With each item as stored, for the notice to carry.
    expect(appended).toEqual([
      { storeId: 's1', feedSeq: 1, item: expect.stringContaining('"feedSeq":1') as unknown },
      { storeId: 's2', feedSeq: 1, item: expect.stringContaining('"feedSeq":1') as unknown },
    ]);
    expect(appended.map((a) => (a as { item: string }).item)).toEqual(
      first!.filter(([name]) => name.startsWith('lmAppendFeed')).map((write) => write[3]),
    );
    expect(rest!.some(([name, key]) => name === 'SADD' && key!.endsWith(':targeted'))).toBe(false);
  });

  it('ends the feed pipeline with a fence token that the position raise, last of the batch, requires', async () => {
    const { redis, pipelines } = recordingRedis();
    const keys = new RedisKeys('lm:', 'g1');
    const projection = new Projection(redis, keys);
    const entry = feedEvent(
      { storeId: 's1', feedSeq: 1, change: 'published', communication, sourceVersion: 3 },
      '00000000-0000-4000-8000-000000000009',
    );
    const value = Buffer.from(JSON.stringify(feedBatchRecord([entry])));
    const position = { keys: { position: keys.position('feed', 0), fence: keys.fence('feed', 0) }, to: 8, from: 7 };
    const result = await projection.apply([{ topic: 'feed', partition: 0, offset: '7', key: null, value }], {
      position,
    });
    expect(result.position).toBe('raised');

    const [first, rest] = pipelines;
    const [name, key, token] = first!.at(-1)!;
    expect([name, key]).toEqual(['SET', position.keys.fence]);
    expect(rest!.at(-1)).toEqual(['lmPosition', position.keys.position, position.keys.fence, '8', '7', token]);
  });
});
