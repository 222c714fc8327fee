import type Redis from 'ioredis';
import { FEED_CHANGES, type DomainEvent, type FeedItem } from '@lastmeter/contracts';

export type { FeedItem } from '@lastmeter/contracts';
import { requireStrings, type ProjectionContext, type ReadModel } from '../model';
import type { RedisKeys } from '../redis-keys';

/**
 * The per-store feed (DESIGN.md section 5): a sorted set by feedSeq plus its head. The
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
    const item: FeedItem = { feedSeq, communication, change, at: event.occurredAt };
    context.feedAppended(
      storeId,
      feedSeq,
      context.keys.model('feed', storeId),
      context.keys.model('feed', storeId, 'head'),
      JSON.stringify(item),
    );
  },
};

export async function feedHead(redis: Redis, keys: RedisKeys, storeId: string): Promise<number> {
  return Number((await redis.get(keys.model('feed', storeId, 'head'))) ?? 0);
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
    .get(keys.model('feed', storeId, 'head'))
    .exec()) as [[null, string[]], [null, string | null]];
  return { items: members.map((m) => JSON.parse(m) as FeedItem), headSeq: Number(head ?? 0) };
}
