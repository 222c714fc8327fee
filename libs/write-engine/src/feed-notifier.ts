/**
 * Feed notices on commit: the command service tells the gateways about feed entries the
 * moment the transaction that appended them committed, items included, so the terminals
 * have them without waiting for the transaction markers, a projector's fetch and its
 * Redis write (docs/realtime.md, "Notices on commit"). The projector's notice for the
 * same entries follows and finds them sent.
 */
import type Redis from 'ioredis';
import { expandFeedBatch, feedBatchRecord, feedItemOf, type DomainEvent } from '@lastmeter/contracts';
import { committedNotice, feedChannel, NOTICE_ITEMS_MAX_CHARS } from '@lastmeter/redis';
import type { FeedChunk, FeedNotifier } from './ports';

/**
 * The notice for the committed `chunks`: each entry as the projector will store it (each
 * chunk is one record, expanded as every reader of the feed topic expands it), in order,
 * up to NOTICE_ITEMS_MAX_CHARS; undefined when none fits. A store cut off by the bound is
 * announced up to its last item carried: the items are committed, so any run of them from
 * a store's first new entry on is safe to hand out. `carried`: for each chunk, whether
 * the notice holds every one of its entries.
 */
export function committedFeedNotice(
  chunks: FeedChunk[],
  traces: string[] = [],
): { message: string; carried: boolean[] } | undefined {
  const appended: Array<{ storeId: string; feedSeq: number; item: string }> = [];
  // The chunks up to the bound, expanded (those after it are not carried at all).
  const expanded: Array<Array<DomainEvent<'feed.appended'>>> = [];
  let chars = 0;
  collect: for (const { entries: events } of chunks) {
    const entries = expandFeedBatch(feedBatchRecord(events as Array<DomainEvent<'feed.appended'>>));
    expanded.push(entries);
    for (const entry of entries) {
      const item = JSON.stringify(feedItemOf(entry));
      chars += item.length;
      if (chars > NOTICE_ITEMS_MAX_CHARS) break collect;
      appended.push({ storeId: entry.data.storeId, feedSeq: entry.data.feedSeq, item });
    }
  }
  const notice = committedNotice(appended, traces);
  if (!notice) return undefined;
  const carried = chunks.map(
    (_, i) => expanded[i]?.every(({ data }) => data.feedSeq <= (notice.heads[data.storeId] ?? 0)) ?? false,
  );
  return { message: notice.message, carried };
}

/** The FeedNotifier on Redis pub/sub: the channel projectors announce on. */
export class RedisFeedNotifier implements FeedNotifier {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  prepare(chunks: FeedChunk[], traces: string[] = []): { carried: boolean[]; send(): void } {
    const notice = committedFeedNotice(chunks, traces);
    if (!notice) return { carried: chunks.map(() => false), send: () => undefined };
    return {
      carried: notice.carried,
      // Lost (Redis away), it costs latency only: the projector's notice announces the
      // same entries once they are in Redis.
      send: () => void this.redis.publish(feedChannel(this.prefix), notice.message).catch(() => undefined),
    };
  }
}
