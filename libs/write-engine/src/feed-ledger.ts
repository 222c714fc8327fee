/** Every store's feed head, as the feed topic has it (pure apart from logging). */
import { Injectable, Logger } from '@nestjs/common';
import type { FeedAppended } from '@lastmeter/contracts';
import { applyFeedEntry, emptyStoreFeed, type StoreFeedState } from '@lastmeter/domain';

/**
 * Every store's feed as lastmeter.feed.v1 has it (read_committed): the head feedSeq and
 * what each communication last showed. The sequencer plans against it; the tail and the
 * sequencer's own commits fold entries in, idempotently by feedSeq.
 */
const NONE: ReadonlySet<string> = new Set();

@Injectable()
export class FeedLedger {
  private readonly logger = new Logger(FeedLedger.name);
  private readonly feeds = new Map<string, StoreFeedState>();
  /** Communication id → the stores whose feed shows it live (to revise, retract or expire it there). */
  private readonly live = new Map<string, Set<string>>();

  /** The store's feed (an empty one, not kept, for a store that has none yet: planning only reads it). */
  of(storeId: string): StoreFeedState {
    return this.feeds.get(storeId) ?? emptyStoreFeed();
  }

  private feedOf(storeId: string): StoreFeedState {
    let feed = this.feeds.get(storeId);
    if (!feed) {
      feed = emptyStoreFeed();
      this.feeds.set(storeId, feed);
    }
    return feed;
  }

  /** The stores whose feed shows `communicationId` live. */
  holders(communicationId: string): ReadonlySet<string> {
    return this.live.get(communicationId) ?? NONE;
  }

  apply(entry: FeedAppended): boolean {
    try {
      if (!applyFeedEntry(this.feedOf(entry.storeId), entry)) return false;
      const id = entry.communication.id;
      if (entry.change === 'published' || entry.change === 'revised') {
        let stores = this.live.get(id);
        if (!stores) this.live.set(id, (stores = new Set()));
        stores.add(entry.storeId);
      } else {
        const stores = this.live.get(id);
        stores?.delete(entry.storeId);
        if (stores?.size === 0) this.live.delete(id);
      }
      return true;
    } catch (error) {
      // Only a bug can get here: the partition's single writer numbers entries from this
      // same ledger. Say so loudly rather than stop every store's feed.
      this.logger.error((error as Error).message);
      return false;
    }
  }
}
