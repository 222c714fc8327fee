import type Redis from 'ioredis';
import type { TestNamespace } from './env';

/**
 * Every Redis key of a suite's namespace: those that start with its prefix, and those
 * whose hash tag does (`{<prefix>…}…`, one cluster slot: the write side's snapshots).
 * A scan for `<prefix>*` alone would not see the second kind.
 */
export async function suiteKeys(redis: Redis, ns: Pick<TestNamespace, 'keyPrefix'>): Promise<string[]> {
  const keys: string[] = [];
  for (const pattern of [`${ns.keyPrefix}*`, `{${ns.keyPrefix}*`]) {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys;
}
