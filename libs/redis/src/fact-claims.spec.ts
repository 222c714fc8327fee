import calculateSlot from 'cluster-key-slot';
import type Redis from 'ioredis';
import { FactClaims } from './fact-claims';

/**
 * The batching of FactClaims against a recording stand-in for ioredis (the scripts
 * themselves run against a real Redis in the receipt e2e suites): every script call and
 * multi-key command touches one slot on a Cluster, and the states come back in order.
 */
function recordingRedis(isCluster: boolean) {
  const calls: Array<{ command: string; keys: string[] }> = [];
  const pipeline = {
    lmClaimFacts(count: number, ...keysAndArgs: Array<string | number>) {
      const keys = keysAndArgs.slice(0, count) as string[];
      calls.push({ command: 'lmClaimFacts', keys });
      // A key ending in an even digit was recorded before (2), the others are claimed now (0).
      return keys.map((key) => (Number(key.at(-1)) % 2 === 0 ? 2 : 0));
    },
    del(...keys: string[]) {
      calls.push({ command: 'del', keys });
      return keys.length;
    },
  };
  const queued: unknown[] = [];
  const redis = {
    isCluster,
    defineCommand() {},
    pipeline() {
      queued.length = 0;
      return {
        lmClaimFacts: (...args: Parameters<typeof pipeline.lmClaimFacts>) =>
          queued.push(pipeline.lmClaimFacts(...args)),
        del: (...keys: string[]) => queued.push(pipeline.del(...keys)),
        exec: async () => queued.map((reply) => [null, reply]),
      };
    },
  };
  return { redis: redis as unknown as Redis, calls };
}

const ids = Array.from({ length: 40 }, (_, i) => `fact-${i}`);

describe('FactClaims batching', () => {
  it('claims all facts of a batch in one script call on a single Redis', async () => {
    const { redis, calls } = recordingRedis(false);
    const states = await new FactClaims(redis, 'lm:').claimMany(ids);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.keys).toEqual(ids.map((id) => `lm:activity:${id}`));
    expect(states).toEqual(ids.map((_, i) => (i % 2 === 0 ? 'done' : 'claimed')));
  });

  it('on a Cluster, splits the calls so that each touches one slot, and answers in the facts’ order', async () => {
    const { redis, calls } = recordingRedis(true);
    const claims = new FactClaims(redis, 'lm:');
    const states = await claims.claimMany(ids);
    await claims.releaseMany(ids);
    expect(calls.length).toBeGreaterThan(1);
    for (const { keys } of calls) expect(new Set(keys.map((key) => calculateSlot(key))).size).toBe(1);
    expect(
      calls
        .filter((call) => call.command === 'lmClaimFacts')
        .flatMap((call) => call.keys)
        .sort(),
    ).toEqual(ids.map((id) => `lm:activity:${id}`).sort());
    expect(states).toEqual(ids.map((_, i) => (i % 2 === 0 ? 'done' : 'claimed')));
  });
});
