import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { FeedItem, TerminalClientEvents } from '@lastmeter/contracts';

/**
 * Where the tablet keeps its feed on the device: IndexedDB (not localStorage, which is
 * small, synchronous and rewritten whole on every change). Two object stores: `items`,
 * one record per communication (key: its id), and `state`, one record (key `feed`)
 * with the cursor, epoch, progress and the outbox of facts waiting to be sent. Every
 * change is one transaction over both, so cursor and items never disagree.
 */
export const FEED_DB = 'lastmeter-tablet';
const STATE_KEY = 'feed';

/** What this tablet has done with a communication, by the revision it did it on. */
export interface Progress {
  read?: number;
  acknowledged?: number;
  completed?: number;
  /** The attempt of that completion: 0 the first time, n after head office's n-th rejection. */
  completedAttempt?: number;
  answered?: number;
  /** A pulse survey answered by the signed-in person (issue 21). */
  surveyed?: number;
}

/**
 * A fact waiting to be sent, under a deterministic key (the server records it once).
 * `upload`: a photo to upload first (its id in the `uploads` store); the medium's id then
 * goes into the payload (`photoMediaId`) and the photo leaves the device.
 */
export type OutboxEntry = {
  [E in keyof TerminalClientEvents]: { key: string; event: E; payload: TerminalClientEvents[E]; upload?: string };
}[keyof TerminalClientEvents];

/** A photo taken for a fact, kept on the device until it is uploaded (outside the feed's 1 MB budget). */
export interface PendingUpload {
  blob: Blob;
  name: string;
}

/** Everything but the items. */
export interface FeedState {
  /** The terminal this feed belongs to: another one's is discarded. */
  terminalId: string;
  cursor: number;
  epoch?: string;
  progress: Record<string, Progress>;
  outbox: OutboxEntry[];
  sound: boolean;
  /** From the last `hello` (NOTICE_MAX_AGE_DAYS on the gateway). */
  noticeMaxAgeDays?: number;
}

interface TabletDb extends DBSchema {
  state: { key: string; value: FeedState };
  items: { key: string; value: FeedItem };
  uploads: { key: string; value: PendingUpload };
}

/** One write: the state, and the items to put and to remove (after clearing them all, with `clear`). */
export interface FeedChange {
  state: FeedState;
  put: FeedItem[];
  remove: string[];
  clear: boolean;
}

export class FeedDb {
  private closed = false;
  private constructor(private readonly db: IDBPDatabase<TabletDb>) {}

  static async open(name = FEED_DB): Promise<FeedDb> {
    const opened: { feedDb?: FeedDb } = {};
    const db = await openDB<TabletDb>(name, 2, {
      upgrade(upgrading, oldVersion) {
        if (oldVersion < 1) {
          upgrading.createObjectStore('state');
          upgrading.createObjectStore('items');
        }
        // Version 2 (issue 19): photos waiting to be uploaded.
        if (oldVersion < 2) upgrading.createObjectStore('uploads');
      },
      // Someone deletes the database (the tablet was forgotten or enrolled again): let go.
      blocking: () => opened.feedDb?.close(),
    });
    opened.feedDb = new FeedDb(db);
    return opened.feedDb;
  }

  async load(): Promise<{ state: FeedState; items: FeedItem[] } | undefined> {
    const tx = this.db.transaction(['state', 'items'], 'readonly');
    const [state, items] = await Promise.all([
      tx.objectStore('state').get(STATE_KEY),
      tx.objectStore('items').getAll(),
    ]);
    await tx.done;
    return state ? { state, items } : undefined;
  }

  /**
   * Applies one change in one transaction. The requests are issued before this returns
   * its promise, so a change made just before `close()` is still written.
   */
  write(change: FeedChange): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the feed database was closed'));
    const tx = this.db.transaction(['state', 'items'], 'readwrite');
    const items = tx.objectStore('items');
    // A failed request fails the transaction: `tx.done` reports it, once.
    if (change.clear) items.clear().catch(ignore);
    for (const id of change.remove) items.delete(id).catch(ignore);
    for (const item of change.put) items.put(item, item.communication.id).catch(ignore);
    tx.objectStore('state').put(change.state, STATE_KEY).catch(ignore);
    return tx.done;
  }

  putUpload(id: string, upload: PendingUpload): Promise<string> {
    return this.db.put('uploads', upload, id);
  }

  getUpload(id: string): Promise<PendingUpload | undefined> {
    return this.db.get('uploads', id);
  }

  deleteUpload(id: string): Promise<void> {
    return this.db.delete('uploads', id);
  }

  close(): void {
    this.closed = true;
    this.db.close();
  }
}

const ignore = () => undefined;

/** Removes the feed from the device (the tablet is forgotten or enrolled anew). */
export function deleteFeedDb(name = FEED_DB): Promise<void> {
  return deleteDB(name);
}
