import { MAX_RECEIPTS_PER_MESSAGE } from '@lastmeter/contracts';
import type { OutboxEntry } from './feed-db';

/**
 * "delivered" receipts per `receipts` message. The gateway's token bucket counts every
 * item (TERMINAL_MESSAGE_BURST 100, then TERMINAL_MESSAGE_RATE 20/s by default), and the
 * client holds a message until all of its items are acked: what a person does next waits
 * behind at most one message this size (about 5 s once the bucket is empty), not behind
 * the whole backlog of a tablet that has just received thousands of items.
 */
export const DELIVERED_PER_MESSAGE = 100;

/** The tablet's own receipt: it got the item, whoever is signed in (sent by itself, in bulk). */
const automatic = (entry: OutboxEntry): boolean => entry.event === 'receipt' && entry.payload.kind === 'delivered';

/**
 * The next message the tablet sends from its outbox, as the entries it carries. What
 * people did (read, acknowledged, completed, answered, reported) goes before the tablet's
 * own "delivered" receipts, each kind in the order queued: a clerk's acknowledgement is
 * never queued behind 3,000 "delivered" receipts of a new tablet's live set. Receipts go
 * together in one `receipts` message, a person's first, topped up with up to
 * DELIVERED_PER_MESSAGE "delivered" ones; any other fact goes alone.
 */
export function nextMessage(outbox: readonly OutboxEntry[]): OutboxEntry[] {
  const first = outbox.find((entry) => !automatic(entry)) ?? outbox[0];
  if (!first) return [];
  if (first.event !== 'receipt') return [first];
  // One pass over the outbox (thousands of entries on a new tablet), each list bounded.
  const byHand: OutboxEntry[] = [];
  const delivered: OutboxEntry[] = [];
  for (const entry of outbox) {
    if (automatic(entry)) {
      if (delivered.length < DELIVERED_PER_MESSAGE) delivered.push(entry);
    } else if (entry.event === 'receipt' && byHand.length < MAX_RECEIPTS_PER_MESSAGE) byHand.push(entry);
  }
  const room = Math.min(MAX_RECEIPTS_PER_MESSAGE - byHand.length, DELIVERED_PER_MESSAGE);
  return [...byHand, ...delivered.slice(0, Math.max(room, 0))];
}
