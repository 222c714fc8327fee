import { topicNames } from '@lastmeter/contracts';
import { createRedisClient } from '@lastmeter/redis';
import type { TestNamespace } from './env';
import { settledEndOffsets } from './log-reader';
import { suiteKeys } from './suite-keys';

/** What a suite has written so far: every topic's end offsets and every Redis key it owns. */
export interface WriteSnapshot {
  offsets: Record<string, Record<number, string>>;
  keys: Set<string>;
}

async function keysOf(ns: TestNamespace): Promise<Set<string>> {
  const redis = createRedisClient(ns.env.REDIS_URL!, 'test-no-writes');
  try {
    return new Set(await suiteKeys(redis, ns));
  } finally {
    redis.disconnect();
  }
}

/**
 * Every topic but the commands topic: a command that the decider refuses on a domain rule
 * (404, 409, 422) was accepted onto that intake queue (7-day retention) and decided there;
 * it is never a fact. Facts are events, store activity, feed entries and credentials.
 */
export async function writeSnapshot(ns: TestNamespace): Promise<WriteSnapshot> {
  const roles = Object.entries(topicNames(ns.topicPrefix)).filter(([role]) => role !== 'commands');
  const ends = await settledEndOffsets(
    ns.env.KAFKA_BROKERS!,
    roles.map(([, topic]) => topic),
  );
  const offsets: WriteSnapshot['offsets'] = {};
  for (const [role, topic] of roles) offsets[role] = ends[topic] ?? {};
  return { offsets, keys: await keysOf(ns) };
}

/**
 * Asserts that nothing was written since `before`: no topic's end offset moved and no
 * new Redis key appeared (keys matching `ignore`, e.g. login throttle counters, excepted;
 * hash-tagged keys included).
 * Waits a moment first, so a write that a refusal failed to prevent has time to land.
 */
export async function expectNothingWritten(
  ns: TestNamespace,
  before: WriteSnapshot,
  options: { ignore?: RegExp; settleMs?: number } = {},
): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, options.settleMs ?? 300));
  const after = await writeSnapshot(ns);
  expect(after.offsets).toEqual(before.offsets);
  // The write side's snapshots (`{<prefix>write:<events topic>}…`) are a cache of the
  // events topic, flushed every second with what earlier decisions changed: every key in
  // them comes from an event, and the events topic's end offsets are compared above.
  const snapshots = `{${ns.keyPrefix}write:`;
  const added = [...after.keys].filter(
    (key) => !before.keys.has(key) && !key.startsWith(snapshots) && !options.ignore?.test(key),
  );
  expect(added).toEqual([]);
}
