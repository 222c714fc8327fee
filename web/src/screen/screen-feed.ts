import type { FeedCommunication, FeedMessage } from '@lastmeter/contracts';

/**
 * What a break-room screen shows: the store's live communications, as the feed says them
 * (published or revised in, retracted or expired out, hidden ones not at all), newest
 * first. Kept in memory only: a screen that restarts gets the live set again.
 */
export function applyFeed(live: Map<string, FeedCommunication>, message: FeedMessage): Map<string, FeedCommunication> {
  const next = message.reset ? new Map<string, FeedCommunication>() : new Map(live);
  if ('hidden' in message) return next;
  const { communication, change } = message;
  if (change === 'retracted' || change === 'expired') next.delete(communication.id);
  else {
    next.delete(communication.id);
    next.set(communication.id, communication);
  }
  return next;
}

/** Newest first (the last set is the newest). */
export function newestFirst(live: Map<string, FeedCommunication>): FeedCommunication[] {
  return [...live.values()].reverse();
}
