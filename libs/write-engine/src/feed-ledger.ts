/** Every store's feed head, as the feed topic has it (pure apart from logging). */
import { Injectable, Logger } from '@nestjs/common';
import type { FeedAppended } from '@lastmeter/contracts';
import { applyFeedEntry, emptyStoreFeed, type StoreFeedState } from '@lastmeter/domain';

/**
 * Every store's feed as lastmeter.feed.v1 has it (read_committed): the head feedSeq and
 * what each communication last showed. The sequencer plans against it; the tail and the
 * sequencer's own commits fold entries in, idempotently by feedSeq.
 */
@Injectable()
export class FeedLedger {
  private readonly logger = new Logger(FeedLedger.name);
  private readonly feeds = new Map<string, StoreFeedState>();

  of(storeId: string): StoreFeedState {
    let feed = this.feeds.get(storeId);
    if (!feed) {
      feed = emptyStoreFeed();
      this.feeds.set(storeId, feed);
    }
    return feed;
  }

  apply(entry: FeedAppended): boolean {
    try {
      return applyFeedEntry(this.of(entry.storeId), entry);
    } catch (error) {
      // Only a bug can get here: the partition's single writer numbers entries from this
      // same ledger. Say so loudly rather than stop every store's feed.
      this.logger.error((error as Error).message);
      return false;
    }
  }
}
