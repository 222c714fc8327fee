/**
 * Every Redis pub/sub channel of Last Meter, in one place (docs/design.md section 9).
 * Channels are scoped by the deployment's key prefix, like keys, so test suites and
 * deployments sharing a Redis never hear each other.
 */

/**
 * Projectors announce new feed items to gateways: one message per projected batch,
 * `{ heads: { [storeId]: feedSeq } }` JSON (the highest new feedSeq of each store in the
 * batch; a national publish is a few messages, not one per store). See FeedNotice.
 * While they fit in NOTICE_ITEMS_MAX_CHARS, the batch's items come along too, as stored
 * (`items: { [storeId]: [member, ...] }`, each store's up to its head): a gateway hands
 * them to the store's terminals without reading them back from Redis.
 */
export function feedChannel(prefix: string): string {
  return `${prefix}feed`;
}

/**
 * The most item text one feed notice carries (its items' stored JSON, summed); a store's
 * items that would go beyond are left out, and the gateways read them from Redis. A
 * bound on what every gateway parses for every batch, whichever stores it serves: a live
 * publish to a few stores fits, a national one is heads only.
 */
export const NOTICE_ITEMS_MAX_CHARS = 64 * 1024;

/**
 * What one message on the feed channel says: these stores have items up to these
 * feedSeqs. `items`, when the notice carried them: the store's items of the batch as
 * stored in its feed (JSON), in feedSeq order, one after another, the last at `feedSeq`.
 */
export type FeedNotice = Array<{ storeId: string; feedSeq: number; items?: string[] }>;

type Appended = Array<{ storeId: string; feedSeq: number; item?: string }>;

/**
 * `appended`: the batch's feed items in the order they were appended (with `item`, the
 * stored JSON, for the notice to carry them).
 */
export function encodeFeedNotice(appended: Appended, traces: string[] = []): string {
  return JSON.stringify(noticeOf(appended, traces, false));
}

/**
 * The notice the command service sends the moment a transaction with feed entries
 * committed, before any projector has them in Redis: only the stores whose items it
 * carries (a head without its items would only send gateways to read what is not there
 * yet), and nothing (undefined) when it carries none. Marked `committed: true`: unlike a
 * projector's notice, it does not say that Redis holds the items.
 */
export function encodeCommittedFeedNotice(appended: Appended, traces: string[] = []): string | undefined {
  return committedNotice(appended, traces)?.message;
}

/**
 * `encodeCommittedFeedNotice`, with the heads it announces: each carried store's items
 * are in it up to that feedSeq (the command service marks the feed records so carried).
 */
export function committedNotice(
  appended: Appended,
  traces: string[] = [],
): { message: string; heads: Readonly<Record<string, number>> } | undefined {
  const notice = noticeOf(appended, traces, true);
  return notice && { message: JSON.stringify(notice), heads: notice.heads };
}

interface Notice {
  heads: Record<string, number>;
  items?: Record<string, string[]>;
  traces?: string[];
  committed?: true;
}

function noticeOf(appended: Appended, traces: string[], carriedOnly: boolean): Notice | undefined {
  let heads: Record<string, number> = {};
  const byStore = new Map<string, Array<{ feedSeq: number; item?: string }>>();
  for (const { storeId, feedSeq, item } of appended) {
    heads[storeId] = Math.max(heads[storeId] ?? 0, feedSeq);
    const list = byStore.get(storeId);
    if (list) list.push({ feedSeq, item });
    else byStore.set(storeId, [{ feedSeq, item }]);
  }
  const items: Record<string, string[]> = {};
  let chars = 0;
  for (const [storeId, list] of byStore) {
    // Only a store's whole run, one feedSeq after another (items above a gap are not).
    const run = list.every(
      ({ item }, i) => item !== undefined && (i === 0 || list[i - 1]!.feedSeq + 1 === list[i]!.feedSeq),
    );
    if (!run) continue;
    const size = list.reduce((n, { item }) => n + item!.length, 0);
    if (chars + size > NOTICE_ITEMS_MAX_CHARS) continue;
    chars += size;
    items[storeId] = list.map(({ item }) => item!);
  }
  if (carriedOnly) {
    if (chars === 0) return undefined;
    heads = Object.fromEntries(Object.keys(items).map((storeId) => [storeId, heads[storeId]!]));
  }
  const notice: Notice = { heads };
  if (chars > 0) notice.items = items;
  if (carriedOnly) notice.committed = true;
  // `traces`: the W3C traceparents the gateways' emits continue (only while tracing is on).
  if (traces.length) notice.traces = traces;
  return notice;
}

/**
 * Reads a feed-channel message: the batch form, or `{ storeId, feedSeq }` as projectors
 * before issue 16 sent it (a rolling upgrade runs both). Throws on anything else.
 */
export function decodeFeedNotice(message: string): FeedNotice {
  return readFeedNotice(message).heads;
}

/**
 * A feed-channel message with the trace contexts it carries (`traceparent` strings).
 * `projected`: a projector sent it, so Redis holds the stores' feeds up to these heads
 * (false for the command service's notice on commit).
 */
export function readFeedNotice(message: string): { heads: FeedNotice; traces: string[]; projected: boolean } {
  const parsed = JSON.parse(message) as {
    heads?: Record<string, unknown>;
    items?: Record<string, unknown>;
    traces?: unknown;
    committed?: unknown;
    storeId?: unknown;
    feedSeq?: unknown;
  };
  const traces = Array.isArray(parsed.traces) ? parsed.traces.filter((t): t is string => typeof t === 'string') : [];
  const projected = parsed.committed !== true;
  if (parsed.heads && typeof parsed.heads === 'object') {
    const carried = parsed.items && typeof parsed.items === 'object' ? parsed.items : {};
    const heads = Object.entries(parsed.heads).map(([storeId, feedSeq]) => {
      const items = carried[storeId];
      const valid = Array.isArray(items) && items.length > 0 && items.every((item) => typeof item === 'string');
      return { storeId, feedSeq: Number(feedSeq), ...(valid ? { items: items as string[] } : {}) };
    });
    return { heads, traces, projected };
  }
  if (typeof parsed.storeId === 'string' && typeof parsed.feedSeq === 'number') {
    return { heads: [{ storeId: parsed.storeId, feedSeq: parsed.feedSeq }], traces, projected };
  }
  throw new Error('not a feed notice');
}

/** Announcements to gateways (terminal revoked, user sessions ended, socket dropped, ...). */
export function announcementChannel(prefix: string): string {
  return `${prefix}announcements`;
}

/** One per command instance: the decider replies here with the outcome of a command. */
export function commandReplyChannel(prefix: string, instanceId: string): string {
  return `${prefix}command-replies:${instanceId}`;
}
