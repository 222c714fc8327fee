/**
 * Feed notices on commit: the command service tells the gateways about feed entries the
 * moment the transaction that appended them committed, items included, so the terminals
 * have them without waiting for the transaction markers, a projector's fetch and its
 * Redis write (docs/realtime.md, "Notices on commit"). The projector's notice for the
 * same entries follows and finds them sent.
 */
import type Redis from 'ioredis';
import { expandFeedBatch, feedBatchRecord, feedItemOf, type DomainEvent } from '@lastmeter/contracts';
import { encodeCommittedFeedNotice, feedChannel, NOTICE_ITEMS_MAX_CHARS } from '@lastmeter/redis';
import type { FeedChunk, FeedNotifier } from './ports';

/**
 * The notice for the committed `chunks`: each entry as the projector will store it (each
 * chunk is one record, expanded as every reader of the feed topic expands it), in order,
 * up to NOTICE_ITEMS_MAX_CHARS; undefined when none fits. A store cut off by the bound is
 * announced up to its last item carried: the items are committed, so any run of them from
 * a store's first new entry on is safe to hand out.
 */
export function committedFeedNotice(chunks: FeedChunk[], traces: string[] = []): string | undefined {
  const appended: Array<{ storeId: string; feedSeq: number; item: string }> = [];
  let chars = 0;
  for (const { entries } of chunks) {
    for (const entry of expandFeedBatch(feedBatchRecord(entries as Array<DomainEvent<'feed.appended'>>))) {
      const item = JSON.stringify(feedItemOf(entry));
      chars += item.length;
      if (chars > NOTICE_ITEMS_MAX_CHARS) return encodeCommittedFeedNotice(appended, traces);
      appended.push({ storeId: entry.data.storeId, feedSeq: entry.data.feedSeq, item });
    }
  }
  return encodeCommittedFeedNotice(appended, traces);
}

/** The FeedNotifier on Redis pub/sub: the channel projectors announce on. */
export class RedisFeedNotifier implements FeedNotifier {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  committed(chunks: FeedChunk[], traces: string[] = []): void {
    const message = committedFeedNotice(chunks, traces);
    if (message === undefined) return;
    // Lost (Redis away), it costs latency only: the projector's notice announces the
    // same entries once they are in Redis.
    this.redis.publish(feedChannel(this.prefix), message).catch(() => undefined);
  }
}
