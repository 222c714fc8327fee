import type Redis from 'ioredis';
import { FEED_CHANGES, feedItemOf, isLive, type DomainEvent, type FeedItem } from '@lastmeter/contracts';

export type { FeedItem } from '@lastmeter/contracts';
import { requireStrings, type ProjectionContext, type ReadModel } from '../model';
import type { RedisKeys } from '../redis-keys';

/**
 * The per-store feed (docs/design.md section 5): a sorted set by feedSeq plus its head. The
 * numbers come from lastmeter.feed.v1 (decided on the write side), so a rebuild from
 * offset 0 reproduces every item with the same feedSeq.
 */
export const feed: ReadModel = {
  name: 'feed',
  project(event: DomainEvent, context: ProjectionContext): void {
    if (event.type !== 'feed.appended') return;
    const { storeId, feedSeq, change, communication } = event.data;
    requireStrings(event.data, 'storeId');
    requireStrings(communication, 'id', 'title');
    if (!Number.isInteger(feedSeq) || feedSeq < 1 || feedSeq !== event.aggregateVersion) {
      throw new Error(`feedSeq ${feedSeq} must be a positive integer equal to aggregateVersion`);
    }
    if (!FEED_CHANGES.includes(change)) throw new Error(`unknown feed change ${String(change)}`);
    const item = feedItemOf(event);
    // A receipt for this item must not be refused as claiming a revision not known yet.
    if (typeof communication.revision === 'number')
      context.beforeFeed('lmMax', context.keys.model('comm', communication.id, 'revision'), communication.revision);
    context.feedAppended(storeId, feedSeq, context.keys.model('feed', storeId), JSON.stringify(item));
  },
};

/**
 * A store's head is its feed's highest feedSeq (the zset's top score): one key, so every
 * read and the append script stay on one Redis Cluster slot. (Before issue 16 it was
 * also kept in `feed:<store>:head`, which nothing reads any more.)
 */
function headOf(top: string[]): number {
  return Number(top[1] ?? 0);
}

export async function feedHead(redis: Redis, keys: RedisKeys, storeId: string): Promise<number> {
  return headOf(await redis.zrange(keys.model('feed', storeId), -1, -1, 'WITHSCORES'));
}

/** Up to `limit` items with feedSeq > after, in order, and the store's head. */
export async function readFeed(
  redis: Redis,
  keys: RedisKeys,
  storeId: string,
  after: number,
  limit: number,
): Promise<{ items: FeedItem[]; headSeq: number }> {
  const [[, members], [, head]] = (await redis
    .multi()
    .zrangebyscore(keys.model('feed', storeId), `(${after}`, '+inf', 'LIMIT', 0, limit)
    .zrange(keys.model('feed', storeId), -1, -1, 'WITHSCORES')
    .exec()) as [[null, string[]], [null, string[]]];
  return { items: members.map((m) => JSON.parse(m) as FeedItem), headSeq: headOf(head) };
}

/**
 * The live set of a store's feed entries (docs/design.md section 6, "snapshot"): the
 * communications whose latest entry is `published` or `revised` and that have not expired
 * by `now`, each as its latest entry, in feedSeq order. With `noticeMaxAgeDays`, notices
 * without `expiresAt` whose entry is that old are left out too (`isLive`). Pure:
 * `entries` are the store's entries in feedSeq order.
 */
export function liveSet(entries: readonly FeedItem[], now: Date, noticeMaxAgeDays?: number): FeedItem[] {
  const latest = new Map<string, FeedItem>();
  for (const entry of entries) latest.set(entry.communication.id, entry);
  return [...latest.values()]
    .filter((entry) => isLive(entry, now, noticeMaxAgeDays))
    .sort((a, b) => a.feedSeq - b.feedSeq);
}

/**
 * The store's feed as it stood at `at` (docs/design.md section 5): the communications live for
 * it then, each at its revision then, with the feedSeq of its latest entry up to then.
 * Folded from the store's feed entries, which the read model keeps in full (it is an
 * append-only copy of lastmeter.feed.v1 for the store, rebuilt identically from the log).
 * An entry's communication counts as expired from its expiresAt on, even before the
 * `expired` entry (appended by the scheduler a moment later) was written.
 */
export async function feedAsOf(redis: Redis, keys: RedisKeys, storeId: string, at: Date): Promise<FeedItem[]> {
  const entries = (await redis.zrange(keys.model('feed', storeId), 0, -1)).map((json) => JSON.parse(json) as FeedItem);
  return liveSet(
    entries.filter((entry) => Date.parse(entry.at) <= at.getTime()),
    at,
  );
}

/**
 * What a terminal without a cursor starts from: the store's live set now and the head it
 * was taken at, read together (one MULTI), so that every entry up to `headSeq` is folded
 * in and every later one is not. Resuming from `headSeq` then loses and repeats nothing.
 * Notices without expiry older than `noticeMaxAgeDays` (NOTICE_MAX_AGE_DAYS) are not
 * live; they stay in the history ("earlier items").
 */
export async function readLiveSet(
  redis: Redis,
  keys: RedisKeys,
  storeId: string,
  now: Date,
  noticeMaxAgeDays?: number,
): Promise<{ headSeq: number; items: FeedItem[] }> {
  const [[, members], [, head]] = (await redis
    .multi()
    .zrange(keys.model('feed', storeId), 0, -1)
    .zrange(keys.model('feed', storeId), -1, -1, 'WITHSCORES')
    .exec()) as [[null, string[]], [null, string[]]];
  const headSeq = headOf(head);
  const entries = members.map((m) => JSON.parse(m) as FeedItem).filter((entry) => entry.feedSeq <= headSeq);
  return { headSeq, items: liveSet(entries, now, noticeMaxAgeDays) };
}

/** Up to `limit` entries with feedSeq < before, newest first ("earlier items"). */
export async function readFeedBefore(
  redis: Redis,
  keys: RedisKeys,
  storeId: string,
  before: number,
  limit: number,
): Promise<FeedItem[]> {
  const members = await redis.zrevrangebyscore(keys.model('feed', storeId), `(${before}`, '-inf', 'LIMIT', 0, limit);
  return members.map((m) => JSON.parse(m) as FeedItem);
}
