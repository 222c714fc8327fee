import type Redis from 'ioredis';
import type { RedisKeys } from './redis-keys';

/**
 * Redis's copy of lastmeter.person-keys.v1 (docs/privacy.md): staff id → data key. The
 * projector keeps it (PersonKeyFollower), the command service adds a new person's key
 * before the command that adds them, and erasure deletes it. The read paths open a sealed
 * name with it; a person without a key here is shown as erased.
 */
export class PersonKeyMirror {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async put(personId: string, key: Buffer): Promise<void> {
    await this.redis.hset(this.keys.personKeys, personId, key.toString('base64url'));
  }

  async forget(personId: string): Promise<void> {
    await this.redis.hdel(this.keys.personKeys, personId);
  }

  /** The keys of those persons that have one (in batches: a national roster is many). */
  async keysOf(personIds: readonly string[]): Promise<Map<string, Buffer>> {
    const found = new Map<string, Buffer>();
    const unique = [...new Set(personIds)];
    for (let i = 0; i < unique.length; i += 1_000) {
      const ids = unique.slice(i, i + 1_000);
      const values = await this.redis.hmget(this.keys.personKeys, ...ids);
      values.forEach((value, j) => {
        if (value) found.set(ids[j], Buffer.from(value, 'base64url'));
      });
    }
    return found;
  }

  async keyOf(personId: string): Promise<Buffer | undefined> {
    return (await this.keysOf([personId])).get(personId);
  }

  /**
   * Applies records of the topic in their order (a null key is a tombstone) with one
   * pipeline, and marks the mirror as kept (`mirrored`), so a Redis that lost it is seen.
   */
  async apply(records: ReadonlyMap<string, string | null>): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const [personId, key] of records) {
      if (key) pipeline.hset(this.keys.personKeys, personId, key);
      else pipeline.hdel(this.keys.personKeys, personId);
    }
    pipeline.set(this.mirroredKey, '1');
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0] as Error;
  }

  /** Whether the mirror is still there since the last `apply` (gone: Redis lost data). */
  async kept(): Promise<boolean> {
    return (await this.redis.exists(this.mirroredKey)) === 1;
  }

  private get mirroredKey(): string {
    return this.keys.meta('person-keys:mirrored');
  }
}

/** Set while a staff member is locked out after too many wrong PINs (issue 21). */
export function staffLockKey(keys: RedisKeys, staffId: string): string {
  return keys.meta(`staff-lock:${staffId}`);
}

/** Which of these staff members are locked out. */
export async function lockedStaff(redis: Redis, keys: RedisKeys, staffIds: readonly string[]): Promise<Set<string>> {
  if (staffIds.length === 0) return new Set();
  const pipeline = redis.pipeline();
  for (const id of staffIds) pipeline.exists(staffLockKey(keys, id));
  const results = (await pipeline.exec()) ?? [];
  return new Set(staffIds.filter((_, i) => results[i]?.[1] === 1));
}
