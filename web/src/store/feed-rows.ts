import type { FeedBrief, FeedItem } from '@lastmeter/contracts';

export type FeedRowModel = { item: FeedItem } | { brief: FeedBrief; items: FeedItem[] };

/**
 * The active list as rows: an item on its own, or a daily brief (issue 22) with every
 * item that came in it, where its newest item stands.
 */
export function feedRows(items: FeedItem[]): FeedRowModel[] {
  const rows: FeedRowModel[] = [];
  const briefs = new Map<string, { brief: FeedBrief; items: FeedItem[] }>();
  for (const item of items) {
    if (!item.brief) {
      rows.push({ item });
      continue;
    }
    let row = briefs.get(item.brief.at);
    if (!row) {
      row = { brief: item.brief, items: [] };
      briefs.set(item.brief.at, row);
      rows.push(row);
    }
    row.items.push(item);
  }
  // In a brief, items in the order head office's brief gave them (oldest entry first).
  for (const row of briefs.values()) row.items.reverse();
  return rows;
}
