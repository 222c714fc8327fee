import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import type { Announcement } from '@lastmeter/read-models';
import { REDIS, announcementChannel, feedChannel, readFeedNotice } from '@lastmeter/redis';

/**
 * What a feed notice says about one store. `head`: its highest new feedSeq. `items`: its
 * new items as stored (JSON), the last at `head`, when the notice carried them.
 * `projected`: a projector sent it, so Redis holds the feed up to `head` (not so for the
 * command service's notice on commit). `traces`: the W3C traceparents of the writes that
 * appended the items (tracing on).
 */
export interface StoreFeedNotice {
  head: number;
  items?: string[];
  projected: boolean;
  traces: string[];
}

type FeedListener = (storeId: string, notice: StoreFeedNotice) => void;
type AnnouncementListener = (announcement: Announcement) => void;

/**
 * What projectors announce through Redis pub/sub, for every gateway instance: new feed
 * items (`readFeedNotice`: stores and their new heads, one message per projected batch,
 * with the items themselves while they fit) and changes to act on (a terminal revoked). A dedicated
 * subscriber connection; after a reconnect, listeners are told to re-check everything
 * (`onResync`), since messages published meanwhile are gone.
 */
@Injectable()
export class NotificationHub implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(NotificationHub.name);
  private subscriber?: Redis;
  private readonly feedListeners: FeedListener[] = [];
  private readonly announcementListeners: AnnouncementListener[] = [];
  private readonly resyncListeners: Array<() => void> = [];

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: SharedConfig,
  ) {}

  onFeed(listener: FeedListener): void {
    this.feedListeners.push(listener);
  }

  onAnnouncement(listener: AnnouncementListener): void {
    this.announcementListeners.push(listener);
  }

  onResync(listener: () => void): void {
    this.resyncListeners.push(listener);
  }

  async onApplicationBootstrap(): Promise<void> {
    const feed = feedChannel(this.config.REDIS_KEY_PREFIX);
    const announcements = announcementChannel(this.config.REDIS_KEY_PREFIX);
    const subscriber = this.redis.duplicate({ connectionName: 'lastmeter-gateway-sub', maxRetriesPerRequest: null });
    this.subscriber = subscriber;
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (connectedBefore) {
        this.logger.log('notifications resumed; re-checking every feed');
        for (const listener of this.resyncListeners) listener();
      }
      connectedBefore = true;
    });
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, message: string) => {
      try {
        if (channel === feed) {
          const { heads, traces, projected } = readFeedNotice(message);
          for (const { storeId, feedSeq, items } of heads) {
            const notice: StoreFeedNotice = { head: feedSeq, items, projected, traces };
            for (const listener of this.feedListeners) listener(storeId, notice);
          }
        } else if (channel === announcements) {
          const announcement = JSON.parse(message) as Announcement;
          for (const listener of this.announcementListeners) listener(announcement);
        }
      } catch (error) {
        this.logger.warn(`ignored a malformed notification on ${channel}: ${(error as Error).message}`);
      }
    });
    await subscriber.subscribe(feed, announcements);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}
