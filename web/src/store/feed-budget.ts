/**
 * The tablet's storage budget (issue 16, item 8): the feed and its state on the device
 * (cursor and epoch, items, progress, queued facts) stay under 1 MB, measured as the
 * UTF-8 bytes of their JSON. Pure, so that it is tested without a browser
 * (test/web/feed-budget.spec.ts).
 */

/** 1 MB for the feed and its state together. */
export const FEED_BUDGET_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

/** The size a value takes on the device: the UTF-8 bytes of its JSON. */
export function byteLength(value: unknown): number {
  return encoder.encode(JSON.stringify(value) ?? '').byteLength;
}

/** One stored item as the budget sees it. */
export interface BudgetEntry {
  id: string;
  feedSeq: number;
  bytes: number;
  /** In the active list now: kept as long as anything else can go. */
  active: boolean;
}

/**
 * Which items to drop so that `fixedBytes` (everything but the items) plus the items
 * left fit in `budget`: the oldest (lowest feedSeq) items that are not in the active list
 * first, and only if that is not enough, the oldest active ones. Every dropped item can
 * be fetched again through "Earlier items". Empty when everything fits.
 */
export function itemsToDrop(entries: readonly BudgetEntry[], fixedBytes: number, budget: number): string[] {
  let total = fixedBytes + entries.reduce((sum, entry) => sum + entry.bytes, 0);
  if (total <= budget) return [];
  const order = [...entries].sort((a, b) => Number(a.active) - Number(b.active) || a.feedSeq - b.feedSeq);
  const dropped: string[] = [];
  for (const entry of order) {
    if (total <= budget) break;
    dropped.push(entry.id);
    total -= entry.bytes;
  }
  return dropped;
}
