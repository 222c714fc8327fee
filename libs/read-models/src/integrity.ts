import type Redis from 'ioredis';
import type { RedisKeys } from './redis-keys';

/** `topic/partition` → offset. */
export type Offsets = Record<string, number>;

export type Integrity =
  /** The generation's read models are whole (up to the projector's lag). */
  | { state: 'intact' }
  /** Lost writes are being re-projected; readers get 503 until every partition reaches its target. */
  | { state: 'recovering'; behind: number; targets: Offsets }
  /** This check saw the last partition reach its target and marked the generation intact. */
  | { state: 'recovered' };

function parsePartition(field: string): [topic: string, partition: number] {
  const at = field.lastIndexOf('/');
  return [field.slice(0, at), Number(field.slice(at + 1))];
}

/**
 * The projector's check that its generation is whole (every second, and at start).
 * `intact` is set when the generation is known whole; a Redis that loses it (a
 * FLUSHALL, a replaced host, a failover before it was replicated) also lost the
 * positions written after it, so the projectors re-project from those (see
 * ProjectionRunner). Until they have reached the log's end as it was when the loss
 * was seen (`ends`, written once as `recovering`), readers get 503 with Retry-After.
 * A new deployment goes through the same step, over an empty or short log.
 */
export async function checkIntegrity(redis: Redis, keys: RedisKeys, ends: () => Promise<Offsets>): Promise<Integrity> {
  const [intact, recovering] = await redis.mget(keys.intact, keys.recovering);
  if (intact) return { state: 'intact' };
  let targets = recovering ? (JSON.parse(recovering) as Offsets) : undefined;
  if (!targets) {
    const proposed = await ends();
    // Another projector may have written them first: theirs stand.
    await redis.set(keys.recovering, JSON.stringify(proposed), 'NX');
    targets = JSON.parse((await redis.get(keys.recovering)) ?? JSON.stringify(proposed)) as Offsets;
  }
  const fields = Object.keys(targets);
  const positions =
    fields.length === 0 ? [] : await redis.mget(fields.map((field) => keys.position(...parsePartition(field))));
  let behind = 0;
  fields.forEach((field, index) => {
    behind += Math.max(0, targets[field]! - Number(positions[index] ?? 0));
  });
  if (behind > 0) return { state: 'recovering', behind, targets };
  await redis.multi().set(keys.intact, new Date().toISOString()).del(keys.recovering).exec();
  return { state: 'recovered' };
}

/** Marks a generation whole without a check (a rebuild that just caught it up). */
export async function markIntact(redis: Redis, keys: RedisKeys): Promise<void> {
  await redis.multi().set(keys.intact, new Date().toISOString()).del(keys.recovering).exec();
}
