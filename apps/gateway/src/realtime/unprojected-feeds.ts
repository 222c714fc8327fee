import { Injectable } from '@nestjs/common';
import { NotificationHub, type StoreFeedNotice } from './notification-hub';

/** Stores remembered at most; beyond it the map starts again (a check then just answers from Redis). */
const STORES_MAX = 100_000;

/**
 * Stores whose feed a command service announced on commit beyond what a projector has
 * announced as written to Redis. Terminals get those items at once (the notice on
 * commit), so for a moment a terminal may hold an item whose targeting the read models
 * do not have yet: an HTTP check against them (opening the item's attachment) must wait
 * for the projection rather than answer "not yours". Every gateway hears every notice,
 * so this holds for items another gateway handed out too.
 *
 * Only stores with a projection outstanding are kept: a projector's notice that reaches
 * the committed head removes the store, and so does a check that finds Redis there
 * (`projected`), which also clears what a lost projector notice left behind.
 */
@Injectable()
export class UnprojectedFeeds {
  private readonly committed = new Map<string, number>();

  constructor(hub: NotificationHub) {
    hub.onFeed((storeId, notice) => this.heard(storeId, notice));
  }

  heard(storeId: string, { head, projected }: StoreFeedNotice): void {
    if (projected) return this.projected(storeId, head);
    const ahead = this.committed.get(storeId);
    if (ahead === undefined || head > ahead) {
      if (this.committed.size >= STORES_MAX) this.committed.clear();
      this.committed.set(storeId, head);
    }
  }

  /** The highest feedSeq announced on commit for the store that Redis may not hold yet. */
  head(storeId: string): number | undefined {
    return this.committed.get(storeId);
  }

  /** Redis holds the store's feed up to `head`. */
  projected(storeId: string, head: number): void {
    const ahead = this.committed.get(storeId);
    if (ahead !== undefined && head >= ahead) this.committed.delete(storeId);
  }
}
