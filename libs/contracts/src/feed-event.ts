import type { DomainEvent } from './event-types';
import { CURRENT_SCHEMA_VERSIONS } from './event-types';
import type { FeedAppended } from './events/feed';
import type { Actor } from './roles';

/** Who appends feed entries: the write side's feed sequencer. */
export const FEED_ACTOR: Actor = { id: 'lastmeter-feed', role: 'system' };

/**
 * The envelope of a feed entry on lastmeter.feed.v1: aggregate `feed`/storeId, with
 * aggregateVersion = feedSeq, and `feed:<store>:<feedSeq>` as command, correlation and
 * causation id.
 */
export function feedEvent(entry: FeedAppended, id: string, occurredAt = new Date().toISOString()) {
  const commandId = `feed:${entry.storeId}:${entry.feedSeq}`;
  return {
    id,
    type: 'feed.appended',
    schemaVersion: CURRENT_SCHEMA_VERSIONS['feed.appended'],
    aggregateType: 'feed',
    aggregateId: entry.storeId,
    aggregateVersion: entry.feedSeq,
    occurredAt,
    actor: FEED_ACTOR,
    commandId,
    correlationId: commandId,
    causationId: commandId,
    data: entry,
  } satisfies DomainEvent<'feed.appended'>;
}
