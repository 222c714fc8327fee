import type { Audience, FeedAppended, FeedChange, FeedCommunication } from '@lastmeter/contracts';
import type { CommunicationState } from '../communication/communication.state';
import type { StoreState } from '../store/store.state';
import { withoutUndefined } from '../values';

/** What a store's feed holds for one communication: the revision it last showed, and whether it is still live there. */
export interface FeedItemState {
  revision: number;
  live: boolean;
  /** The communication's aggregateVersion when the entry was planned. */
  sourceVersion: number;
  /** The store's evidence rejections of this task the feed has shown (absent: none). */
  rejection?: number;
}

/** A communication as the planner's view has it: its state and its aggregateVersion. */
export interface VersionedCommunication {
  state: CommunicationState;
  version: number;
}

/** One store's feed as the log has it: its last feedSeq and the state of each communication in it. */
export interface StoreFeedState {
  head: number;
  items: Map<string, FeedItemState>;
}

export function emptyStoreFeed(): StoreFeedState {
  return { head: 0, items: new Map() };
}

/** Does the audience reach this store? Its parts combine as a union; roles only filter terminals. */
export function targetsStore(audience: Audience, store: Pick<StoreState, 'id' | 'regionId' | 'tags'>): boolean {
  if (audience.all === true) return true;
  if (audience.storeIds?.includes(store.id)) return true;
  if (audience.regionIds?.includes(store.regionId)) return true;
  return !!audience.tags?.some((tag) => store.tags.includes(tag));
}

/** Snapshots already taken, per state object (states are immutable: a change is a new object). */
const snapshots = new WeakMap<CommunicationState, FeedCommunication>();

/**
 * The communication as a tablet may see it (no quiz answers, no audience beyond roles).
 * Taken once per state: a publish to 20,000 stores shares one snapshot (treat it as read-only).
 */
export function feedSnapshot(state: CommunicationState): FeedCommunication {
  let snapshot = snapshots.get(state);
  if (!snapshot) {
    snapshot = takeSnapshot(state);
    snapshots.set(state, snapshot);
  }
  return snapshot;
}

function takeSnapshot(state: CommunicationState): FeedCommunication {
  const { content } = state;
  return withoutUndefined({
    id: state.id,
    revision: state.revision,
    kind: content.kind,
    title: content.title,
    body: content.body,
    priority: content.priority,
    roles: content.audience.roles?.length ? content.audience.roles : undefined,
    dueAt: content.dueAt,
    evidence: content.evidence,
    questions: content.questions?.map(({ prompt, options }) => ({ prompt, options })),
    attachments: content.attachments,
    cover: content.cover,
    expiresAt: state.expiresAt,
  });
}

/**
 * The entries that bring one store's feed in line with the communications as they are
 * now: published for a live communication that targets the store and is not in its feed
 * (new, or the store registered or moved later), revised when it shows an older
 * revision, and retracted or expired when it is live in the feed but no longer should
 * be. Level-triggered and pure: planning again after applying the result plans nothing,
 * so it does not matter how often or from which (consistent) view it runs.
 *
 * `communications` may be a subset (the ones that changed); the store's feed items that
 * are not among them are left alone. A communication the view knows at an older version
 * than the feed already reflects (another partition's events not read yet) is skipped:
 * it is planned again when the view catches up.
 */
export function planStoreFeed(
  store: StoreState,
  communications: Iterable<VersionedCommunication>,
  feed: StoreFeedState,
): FeedAppended[] {
  const entries: FeedAppended[] = [];
  let feedSeq = feed.head;
  for (const { state: communication, version } of communications) {
    const held = feed.items.get(communication.id);
    if (held && version < held.sourceVersion) continue;
    // Per store, beside the shared snapshot: this store's latest evidence rejection.
    const rejected = communication.evidenceRejections?.[store.id];
    const append = (change: FeedChange) => {
      entries.push({
        storeId: store.id,
        feedSeq: ++feedSeq,
        change,
        communication: feedSnapshot(communication),
        ...(rejected && change !== 'retracted' && change !== 'expired' ? { evidenceRejected: rejected } : {}),
        sourceVersion: version,
      });
    };
    const wanted =
      store.exists && communication.status === 'published' && targetsStore(communication.content.audience, store);
    if (wanted) {
      if (!held?.live) append('published');
      else if (held.revision !== communication.revision) append('revised');
      // The same revision again, now with the store's evidence sent back: its tablets reopen the task.
      else if ((rejected?.rejection ?? 0) > (held.rejection ?? 0)) append('revised');
    } else if (held?.live) {
      append(communication.status === 'expired' ? 'expired' : 'retracted');
    }
  }
  return entries;
}

/**
 * Folds one entry into the feed, in place (a ledger holds every store's feed; copying
 * would make replay quadratic). Entries at or below the head are already in: returns
 * false and changes nothing.
 */
export function applyFeedEntry(feed: StoreFeedState, entry: FeedAppended): boolean {
  if (entry.feedSeq <= feed.head) return false;
  if (entry.feedSeq !== feed.head + 1) {
    throw new Error(`gap in the feed of store ${entry.storeId}: at ${feed.head}, got ${entry.feedSeq}`);
  }
  feed.head = entry.feedSeq;
  feed.items.set(
    entry.communication.id,
    withoutUndefined({
      revision: entry.communication.revision,
      live: entry.change === 'published' || entry.change === 'revised',
      sourceVersion: entry.sourceVersion,
      rejection: entry.evidenceRejected?.rejection,
    }),
  );
  return true;
}
