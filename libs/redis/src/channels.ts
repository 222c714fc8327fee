/**
 * Every Redis pub/sub channel of Last Meter, in one place (docs/design.md section 9).
 * Channels are scoped by the deployment's key prefix, like keys, so test suites and
 * deployments sharing a Redis never hear each other.
 */

/**
 * Projectors announce new feed items to gateways: one message per projected batch,
 * `{ heads: { [storeId]: feedSeq } }` JSON (the highest new feedSeq of each store in the
 * batch; a national publish is a few messages, not one per store). See FeedNotice.
 */
export function feedChannel(prefix: string): string {
  return `${prefix}feed`;
}

/** What one message on the feed channel says: these stores have items up to these feedSeqs. */
export type FeedNotice = Array<{ storeId: string; feedSeq: number }>;

export function encodeFeedNotice(items: FeedNotice, traces: string[] = []): string {
  const heads: Record<string, number> = {};
  for (const { storeId, feedSeq } of items) heads[storeId] = Math.max(heads[storeId] ?? 0, feedSeq);
  // `traces`: the W3C traceparents the gateways' emits continue (only while tracing is on).
  return JSON.stringify(traces.length ? { heads, traces } : { heads });
}

/**
 * Reads a feed-channel message: the batch form, or `{ storeId, feedSeq }` as projectors
 * before issue 16 sent it (a rolling upgrade runs both). Throws on anything else.
 */
export function decodeFeedNotice(message: string): FeedNotice {
  return readFeedNotice(message).heads;
}

/** A feed-channel message with the trace contexts it carries (`traceparent` strings). */
export function readFeedNotice(message: string): { heads: FeedNotice; traces: string[] } {
  const parsed = JSON.parse(message) as {
    heads?: Record<string, unknown>;
    traces?: unknown;
    storeId?: unknown;
    feedSeq?: unknown;
  };
  const traces = Array.isArray(parsed.traces) ? parsed.traces.filter((t): t is string => typeof t === 'string') : [];
  if (parsed.heads && typeof parsed.heads === 'object') {
    const heads = Object.entries(parsed.heads).map(([storeId, feedSeq]) => ({ storeId, feedSeq: Number(feedSeq) }));
    return { heads, traces };
  }
  if (typeof parsed.storeId === 'string' && typeof parsed.feedSeq === 'number') {
    return { heads: [{ storeId: parsed.storeId, feedSeq: parsed.feedSeq }], traces };
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
