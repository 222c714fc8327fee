import type Redis from 'ioredis';

/**
 * Every key of one read-model generation with its full content, in a canonical form
 * (sorted members and fields, zsets in order with scores), keyed without the prefix and
 * generation so that two generations compare directly: equal dumps mean byte-identical
 * read models. Used by the tests and the chaos runner to hold the live read models
 * against a from-scratch projection (`lastmeter rebuild --keep-old`).
 */
export async function dumpReadModels(
  redis: Redis,
  keyPrefix: string,
  generation: string,
): Promise<Record<string, unknown>> {
  const prefix = `${keyPrefix}${generation}:`;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const dump: Record<string, unknown> = {};
  for (const key of keys.sort()) dump[key.slice(prefix.length)] = await valueOf(redis, key);
  return dump;
}

async function valueOf(redis: Redis, key: string): Promise<unknown> {
  switch (await redis.type(key)) {
    case 'string':
      return redis.get(key);
    case 'hash':
      return Object.fromEntries(Object.entries(await redis.hgetall(key)).sort(([a], [b]) => a.localeCompare(b)));
    case 'set':
      return (await redis.smembers(key)).sort();
    case 'zset':
      return redis.zrange(key, 0, -1, 'WITHSCORES');
    default:
      return `<${await redis.type(key)}>`;
  }
}

/** The keys whose content differs between two dumps (or that only one has), sorted. */
export function dumpDifferences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key])).sort();
}
