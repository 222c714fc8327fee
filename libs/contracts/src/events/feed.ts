import type { DomainEvent } from '../event-types';
import { CURRENT_SCHEMA_VERSIONS } from '../event-types';
import type { Actor, StoreRole } from '../roles';
import type { CommunicationKind, Evidence, Priority } from './communication';

/** What a feed entry says happened to the communication, for this store. */
export const FEED_CHANGES = ['published', 'revised', 'retracted', 'expired'] as const;
export type FeedChange = (typeof FEED_CHANGES)[number];

/**
 * The communication as a store sees it at one revision: everything a tablet shows, and
 * nothing it must not (quiz answers stay at head office).
 */
export interface FeedCommunication {
  id: string;
  revision: number;
  kind: CommunicationKind;
  title: string;
  body: string;
  priority: Priority;
  /** Only terminals serving one of these roles see the content (none = every terminal). */
  roles?: StoreRole[];
  dueAt?: string;
  evidence?: Evidence;
  questions?: Array<{ prompt: string; options: string[] }>;
  expiresAt?: string;
}

/**
 * One entry of a store's feed, on lastmeter.feed.v1 keyed by store id. The write side
 * decides it (targeting) and numbers it: `feedSeq` is also the envelope's
 * aggregateVersion for aggregate `feed`/storeId, so it is gap-free per store and the
 * same on every replay of the log.
 */
export interface FeedAppended {
  storeId: string;
  feedSeq: number;
  change: FeedChange;
  communication: FeedCommunication;
  /**
   * The communication's aggregateVersion this entry reflects. A sequencer whose view of
   * the communication is older than what the feed already shows waits instead of
   * planning from stale state.
   */
  sourceVersion: number;
}

/** A feed entry as the read API and the terminal protocol show it (docs/design.md sections 5, 6). */
export interface FeedItem {
  feedSeq: number;
  communication: FeedCommunication;
  change: FeedChange;
  at: string;
}

/** An entry whose communication is restricted to roles the reader does not serve. */
export interface HiddenFeedItem {
  feedSeq: number;
  hidden: true;
}

export interface FeedEventData {
  'feed.appended': FeedAppended;
}

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
