import type { FeedBrief, FeedCommunication, FeedMessage } from '@lastmeter/contracts';

/** A live communication on the screen, with the daily brief it came in (if it did). */
export interface ScreenItem {
  communication: FeedCommunication;
  brief?: FeedBrief;
}

/**
 * What a break-room screen shows: the store's live communications, as the feed says them
 * (published or revised in, retracted or expired out, hidden ones not at all), newest
 * first. Kept in memory only: a screen that restarts gets the live set again.
 */
export function applyFeed(live: Map<string, ScreenItem>, message: FeedMessage): Map<string, ScreenItem> {
  const next = message.reset ? new Map<string, ScreenItem>() : new Map(live);
  if ('hidden' in message) return next;
  const { communication, change, brief } = message;
  next.delete(communication.id);
  if (change !== 'retracted' && change !== 'expired') {
    next.set(communication.id, brief ? { communication, brief } : { communication });
  }
  return next;
}

/** Newest first (the last set is the newest). */
export function newestFirst(live: Map<string, ScreenItem>): ScreenItem[] {
  return [...live.values()].reverse();
}
