import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { feedBatchRecord, feedEvent, type FeedCommunication } from '@lastmeter/contracts';
import { freePort, LocalRedis } from '@lastmeter/infra';
import { Projection, RedisKeys, type SourceMessage } from '@lastmeter/read-models';
import { createRedisClient } from '@lastmeter/redis';
import { requireEnv } from '../support/env';
import { eventually } from '../support/eventually';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * A Redis failover between two of the projector's writes. Sentinel promotes a replica that
 * lacks the last writes the old master acknowledged, and the projector's next writes go
 * to the new master. A plain position raise would then cover the lost writes, and the
 * position is all the projector trusts after a loss. That was the one `npm run chaos`
 * `redis-master` failure (2026-12-03): three stores' feeds each lacked an entry for good.
 *
 * Real redis-servers: a master and a replica whose replication link runs through a proxy
 * the test cuts, and a proxy in front that the failover retargets (Sentinel's job).
 */
const root = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 'projection-failover-'));
const keys = new RedisKeys('pf:', 'g1');
const position = { position: keys.position('feed', 0), fence: keys.fence('feed', 0) };
const communication: FeedCommunication = {
  id: '11111111-1111-4111-8111-111111111111',
  revision: 1,
  kind: 'notice',
  title: 'Failover',
  body: '',
  priority: 'normal',
};

let started: Array<{ stop(): Promise<void> } | { close(): Promise<void> }> = [];
let clients: Redis[] = [];

afterEach(async () => {
  for (const client of clients) client.disconnect();
  for (const part of started.reverse()) await ('stop' in part ? part.stop() : part.close());
  started = [];
  clients = [];
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function client(url: string, name: string): Redis {
  const redis = createRedisClient(url, name);
  clients.push(redis);
  return redis;
}

/** A master, its replica (through a link the test can cut), and the projector's Redis client through a front proxy. */
async function replicatedPair() {
  const server = async (label: string) => {
    const port = await freePort();
    const dir = mkdtempSync(join(root, `${label}-`));
    const redis = new LocalRedis({ port, dataDir: dir, logDir: dir, appendOnly: false });
    await redis.start();
    started.push(redis);
    return { redis, port };
  };
  const master = await server('master');
  const replica = await server('replica');
  const link = await TcpProxy.start(master.port);
  const front = await TcpProxy.start(master.port);
  started.push(link, front);
  const onMaster = client(master.redis.url, 'test-master');
  await onMaster.config('SET', 'repl-diskless-sync-delay', '0'); // the first sync now, not in 5 s
  await client(replica.redis.url, 'test-replicaof').replicaof('127.0.0.1', link.port);
  const onReplica = client(replica.redis.url, 'test-replica');
  // The first full sync over: WAIT may count a replica that has not loaded it yet.
  await eventually(async () => expect(await onReplica.info('replication')).toContain('master_link_status:up'), {
    what: 'the replica in sync',
  });
  const projector = client(`redis://127.0.0.1:${front.port}`, 'test-projector');
  return {
    projection: new Projection(projector, keys),
    onMaster,
    onReplica,
    /** Waits until the replica has every write so far, then cuts its link: the master acknowledges alone. */
    async replicateThenCut() {
      expect(await onMaster.wait(1, 10_000)).toBe(1);
      link.cut();
    },
    /** The replica is promoted and the projector's connection goes to it (the old master is gone for it). */
    async failover() {
      await onReplica.replicaof('NO', 'ONE');
      front.retarget(replica.port);
    },
  };
}

let offset = 0;
/** One feed record of the log: the entries of one decision, for `[store, feedSeq]` pairs. */
function feedRecord(entries: Array<[storeId: string, feedSeq: number]>): SourceMessage {
  const events = entries.map(([storeId, feedSeq]) =>
    feedEvent(
      {
        storeId,
        feedSeq,
        change: 'published',
        communication: { ...communication, revision: feedSeq },
        sourceVersion: 1,
      },
      `00000000-0000-4000-8000-${String(offset * 100 + feedSeq).padStart(12, '0')}`,
    ),
  );
  return {
    topic: 'feed',
    partition: 0,
    offset: String(offset++),
    key: null,
    value: Buffer.from(JSON.stringify(feedBatchRecord(events))),
  };
}

async function feedSeqs(redis: Redis, storeId: string): Promise<number[]> {
  const scores = await redis.zrange(keys.model('feed', storeId), 0, -1, 'WITHSCORES');
  return scores.filter((_, i) => i % 2 === 1).map(Number);
}

beforeEach(() => {
  offset = 0;
});

it('a failover between a batch’s feed pipeline and its position: the position stays, and projecting the batch again restores the feed', async () => {
  const { projection, onReplica, replicateThenCut, failover } = await replicatedPair();
  const first = feedRecord([
    ['s1', 1],
    ['s2', 1],
  ]);
  expect((await projection.apply([first], { position: { keys: position, to: 1, from: 0 } })).position).toBe('raised');
  await replicateThenCut();

  // The feed appends reach the old master only; the rest of the batch and its position go
  // to the new one.
  const second = feedRecord([
    ['s1', 2],
    ['s2', 2],
  ]);
  const result = await projection.apply([second], { position: { keys: position, to: 2, from: 1 }, onFeed: failover });
  expect(result.appended).toHaveLength(2); // the old master took them
  expect(result.position).toBe('refused');
  expect(await onReplica.get(keys.position('feed', 0))).toBe('1');
  expect(await feedSeqs(onReplica, 's1')).toEqual([1]);

  // What the runner does next: project from the position Redis holds.
  const again = await projection.apply([second], { position: { keys: position, to: 2, from: 1 } });
  expect(again.position).toBe('raised');
  expect(again.appended).toEqual([
    { storeId: 's1', feedSeq: 2 },
    { storeId: 's2', feedSeq: 2 },
  ]);
  expect(await feedSeqs(onReplica, 's1')).toEqual([1, 2]);
  expect(await feedSeqs(onReplica, 's2')).toEqual([1, 2]);
});

it('a failover that loses a whole batch: the next one appends nothing above the hole and raises no position over it', async () => {
  const { projection, onReplica, replicateThenCut, failover } = await replicatedPair();
  const first = feedRecord([['s1', 1]]);
  await projection.apply([first], { position: { keys: position, to: 1, from: 0 } });
  await replicateThenCut();
  const second = feedRecord([['s1', 2]]);
  expect((await projection.apply([second], { position: { keys: position, to: 2, from: 1 } })).position).toBe('raised');
  await failover();

  // The projector last raised the position to 2; the new master says 1.
  const third = feedRecord([['s1', 3]]);
  const result = await projection.apply([third], { position: { keys: position, to: 3, from: 2 } });
  expect(result.position).toBe('refused');
  expect(result.appended).toEqual([]);
  expect(result.gaps).toEqual([]);
  expect(await feedSeqs(onReplica, 's1')).toEqual([1]);

  const again = await projection.apply([second, third], { position: { keys: position, to: 3, from: 1 } });
  expect(again.position).toBe('raised');
  expect(await feedSeqs(onReplica, 's1')).toEqual([1, 2, 3]);
  expect(await onReplica.get(keys.position('feed', 0))).toBe('3');
});

it('a gap in the log itself (Redis lost nothing) is appended over, reported as a gap, as before', async () => {
  const { projection, onMaster } = await replicatedPair();
  await projection.apply([feedRecord([['s1', 1]])], { position: { keys: position, to: 1, from: 0 } });
  const result = await projection.apply(
    [
      feedRecord([
        ['s1', 3],
        ['s2', 1],
      ]),
      feedRecord([['s1', 4]]),
    ],
    { position: { keys: position, to: 3, from: 1 } },
  );
  expect(result.position).toBe('raised');
  expect(result.gaps).toEqual([{ storeId: 's1', feedSeq: 3 }]);
  expect(result.appended).toEqual(
    expect.arrayContaining([
      { storeId: 's2', feedSeq: 1 },
      { storeId: 's1', feedSeq: 3 },
      { storeId: 's1', feedSeq: 4 },
    ]),
  );
  expect(result.appended).toHaveLength(3);
  expect(await feedSeqs(onMaster, 's1')).toEqual([1, 3, 4]);
});
