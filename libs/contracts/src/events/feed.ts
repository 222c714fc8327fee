import type { DomainEvent } from '../event-types';
import { CURRENT_SCHEMA_VERSIONS } from '../event-types';
import type { CommunicationAttachment, MediaRef } from '../media';
import type { Actor, StoreRole } from '../roles';
import type { CommunicationKind, Evidence, Priority, SurveyQuestion } from './communication';

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
  /** A task head office only suggests (absent: mandated): the store manager may dismiss or assign it. */
  mandate?: 'suggested';
  questions?: Array<{ prompt: string; options: string[] }>;
  /** A pulse survey's questions: answered with `survey.answer` by a signed-in person, anonymously. */
  survey?: { questions: SurveyQuestion[] };
  /** Fetch with the terminal's token: `GET /v1/media/:mediaId` (or `/link` for an `<img src>`). */
  attachments?: CommunicationAttachment[];
  cover?: MediaRef;
  expiresAt?: string;
  /**
   * The language title, body and questions are in, for this store (its locale's
   * translation, else the default language); absent on a communication without
   * translations or a language of its own.
   */
  language?: string;
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
  /** The store's evidence of this task was rejected (the latest rejection): the task is open again. */
  evidenceRejected?: EvidenceRejection;
  /** The item came with this daily brief (absent: delivered at once). */
  brief?: FeedBrief;
  /**
   * The communication's aggregateVersion this entry reflects. A sequencer whose view of
   * the communication is older than what the feed already shows waits instead of
   * planning from stale state.
   */
  sourceVersion: number;
}

/**
 * The daily brief an entry belongs to (issue 22): the items a store gets at its opening,
 * appended together in one transaction at `at` (that opening, as an instant), on the
 * store's local `date`. Entries of one store with the same `at` are one brief: the tablet
 * shows them as one card. Revisions, retractions and expiries of the item keep it.
 */
export interface FeedBrief {
  at: string;
  date: string;
}

/** Why a store's evidence of a task was sent back; `rejection` numbers them (1, 2, …). */
export interface EvidenceRejection {
  reason: string;
  rejection: number;
}

/** A feed entry as the read API and the terminal protocol show it (docs/design.md sections 5, 6). */
export interface FeedItem {
  feedSeq: number;
  communication: FeedCommunication;
  change: FeedChange;
  at: string;
  /**
   * Head office rejected this store's evidence: do the task again and send
   * `task.complete` with `attempt: evidenceRejected.rejection`.
   */
  evidenceRejected?: EvidenceRejection;
  /** The item came in the store's daily brief of this opening: show it in that brief's card. */
  brief?: FeedBrief;
}

/**
 * The feed item a `feed.appended` event is (what the read model stores and the terminals
 * get): the projector's and, for a feed notice sent on commit, the command service's.
 */
export function feedItemOf({ data, occurredAt }: DomainEvent<'feed.appended'>): FeedItem {
  const { feedSeq, communication, change, evidenceRejected, brief } = data;
  return {
    feedSeq,
    communication,
    change,
    at: occurredAt,
    ...(evidenceRejected ? { evidenceRejected } : {}),
    ...(brief ? { brief } : {}),
  };
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

/**
 * Several feed entries in one record of lastmeter.feed.v1 (issue 16): what a partition's
 * writer appends in one transaction, with each communication's content once instead of
 * once per store. A national publish is a few dozen records, not one per store.
 * `parseRecord` expands it into the same `feed.appended` events, one per entry, that a
 * record per entry would have held (same ids, feedSeqs and content), so every consumer
 * and every rebuild sees exactly the same facts. Records of one entry each (before issue
 * 16) stay valid.
 */
export interface FeedBatchRecord {
  type: typeof FEED_BATCH;
  /** When the writer appended it: every entry's occurredAt. */
  occurredAt: string;
  /** The content of each entry's communication, referred to by index. */
  communications: FeedCommunication[];
  entries: Array<{
    id: string;
    storeId: string;
    feedSeq: number;
    change: FeedChange;
    sourceVersion: number;
    /** Index into `communications`. */
    communication: number;
    evidenceRejected?: EvidenceRejection;
    brief?: FeedBrief;
  }>;
}

export const FEED_BATCH = 'feed.batch';

/**
 * Header of a feed batch record whose transaction's feed entries the command service's
 * notice on commit carried to the gateways, every one of them (value `true`): terminals
 * have its items without the projector, so a projector may let it wait
 * (PROJECTOR_LINGER_MS) while a fan-out runs.
 */
export const FEED_NOTICED_HEADER = 'noticed';

/** Packs feed entry events (as `feedEvent` builds them) into one record, each content once. */
export function feedBatchRecord(events: Array<DomainEvent<'feed.appended'>>): FeedBatchRecord {
  const indexes = new Map<FeedCommunication | string, number>();
  const communications: FeedCommunication[] = [];
  const indexOf = (communication: FeedCommunication) => {
    // The sequencer shares one snapshot per communication and language (by identity); equal
    // content from elsewhere is matched by id and revision
    // (and language: a translated communication has one copy per language shown).
    const key = `${communication.id}@${communication.revision}@${communication.language ?? ''}`;
    let index = indexes.get(communication) ?? indexes.get(key);
    if (index === undefined) {
      index = communications.push(communication) - 1;
      indexes.set(communication, index);
      indexes.set(key, index);
    }
    return index;
  };
  return {
    type: FEED_BATCH,
    occurredAt: events[0]?.occurredAt ?? new Date().toISOString(),
    communications,
    entries: events.map(({ id, data }) => ({
      id,
      storeId: data.storeId,
      feedSeq: data.feedSeq,
      change: data.change,
      sourceVersion: data.sourceVersion,
      communication: indexOf(data.communication),
      ...(data.evidenceRejected ? { evidenceRejected: data.evidenceRejected } : {}),
      ...(data.brief ? { brief: data.brief } : {}),
    })),
  };
}

/** The `feed.appended` events a feed batch record holds, in order. */
export function expandFeedBatch(record: FeedBatchRecord): Array<DomainEvent<'feed.appended'>> {
  return record.entries.map(({ id, communication, ...entry }) => {
    const content = record.communications[communication];
    if (!content)
      throw new Error(`feed batch entry ${id} refers to communication #${communication}, not in the record`);
    return feedEvent({ ...entry, communication: content }, id, record.occurredAt);
  });
}
