import type Redis from 'ioredis';
import { RedisKeys } from './redis-keys';

/**
 * Read models live under a generation (`g1`, `g2`, ...). `meta:generation` names the one
 * that serves; a rebuild projects the next one from offset 0 and then switches the
 * pointer in one SET, so readers move from a complete model to a complete model.
 */
export const FIRST_GENERATION = 'g1';

/** The key naming the serving generation: GET it alone (currentGeneration) or in a pipeline. */
export function generationPointer(prefix: string): string {
  return new RedisKeys(prefix).meta('generation');
}

/** The serving generation, from the pointer's value (none yet: the first). */
export function servingGeneration(pointer: string | null | undefined): string {
  return pointer ?? FIRST_GENERATION;
}

export async function currentGeneration(redis: Redis, prefix: string): Promise<string> {
  return servingGeneration(await redis.get(generationPointer(prefix)));
}

export function nextGeneration(generation: string): string {
  const number = Number(/^g(\d+)$/.exec(generation)?.[1] ?? '1');
  return `g${number + 1}`;
}

/** Switches serving to `to` if `from` still serves (another rebuild may have won). */
export async function switchGeneration(redis: Redis, prefix: string, from: string, to: string): Promise<boolean> {
  const key = generationPointer(prefix);
  const switched = await redis.eval(
    `local current = redis.call('GET', KEYS[1]) or ARGV[3]
     if current ~= ARGV[1] then return 0 end
     redis.call('SET', KEYS[1], ARGV[2])
     return 1`,
    1,
    key,
    from,
    to,
    FIRST_GENERATION,
  );
  return switched === 1;
}

/** Deletes every key of a generation, in batches (UNLINK frees memory in the background). */
export async function dropGeneration(redis: Redis, keys: RedisKeys, onProgress?: (deleted: number) => void) {
  let deleted = 0;
  for (const match of [keys.generationPattern, keys.generationMetaPattern]) {
    const stream = redis.scanStream({ match, count: 1_000 });
    for await (const batch of stream as AsyncIterable<string[]>) {
      if (batch.length === 0) continue;
      await redis.unlink(...batch);
      deleted += batch.length;
      onProgress?.(deleted);
    }
  }
  return deleted;
}
