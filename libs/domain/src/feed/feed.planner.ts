import {
  lastOpening,
  nextOpening,
  translationFor,
  type Translation,
  type Audience,
  type FeedAppended,
  type FeedBrief,
  type FeedChange,
  type FeedCommunication,
} from '@lastmeter/contracts';
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
  /** The daily brief it came with (absent: delivered at once). */
  brief?: FeedBrief;
  /** The language the store was shown it in (absent: the communication has no translations). */
  language?: string;
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

/** Snapshots already taken, per state object (states are immutable: a change is a new object) and language shown. */
const snapshots = new WeakMap<CommunicationState, Map<string, FeedCommunication>>();

/**
 * The communication as a tablet of a store with this locale may see it (no quiz answers,
 * no audience beyond roles; its locale's translation, else the default text: issue 22).
 * Taken once per state and language: a publish to 20,000 stores shares one snapshot per
 * language (treat it as read-only).
 */
export function feedSnapshot(state: CommunicationState, locale = ''): FeedCommunication {
  const { content } = state;
  const shown = translationFor(locale, content.translations, content.language);
  let byLanguage = snapshots.get(state);
  if (!byLanguage) {
    byLanguage = new Map();
    snapshots.set(state, byLanguage);
  }
  let snapshot = byLanguage.get(shown.language);
  if (!snapshot) {
    snapshot = takeSnapshot(state, shown.language, shown.translation);
    byLanguage.set(shown.language, snapshot);
  }
  return snapshot;
}

function takeSnapshot(state: CommunicationState, language: string, translation?: Translation): FeedCommunication {
  const { content } = state;
  const questions = translation?.questions ?? content.questions;
  return withoutUndefined({
    id: state.id,
    revision: state.revision,
    kind: content.kind,
    title: translation?.title ?? content.title,
    body: translation?.body ?? content.body,
    priority: content.priority,
    roles: content.audience.roles?.length ? content.audience.roles : undefined,
    dueAt: content.dueAt,
    evidence: content.evidence,
    mandate: content.mandate,
    survey: content.survey,
    questions: questions?.map(({ prompt, options }) => ({ prompt, options })),
    attachments: content.attachments,
    cover: content.cover,
    expiresAt: state.expiresAt,
    // Said only where there is a choice: translations, or a language of its own.
    language: content.translations || content.language ? language : undefined,
  });
}

/** What time it is for a plan (the daily brief depends on it). */
export interface PlanTime {
  now: Date;
  /**
   * Told when the store is targeted by a next-brief item that is not due yet, with when it
   * is (ms): the caller plans the store again then.
   */
  waiting?: (at: number) => void;
}

const WAITING = 'waiting';

/**
 * Whether a communication about to be published in a store goes now (undefined), in the
 * brief of the store's latest opening, or waits for its next one (issue 22; docs/design.md
 * section 5, "The daily brief"). A next-brief item is due at the store's first opening at or
 * after it was published, in the store's time zone. A store without opening hours has no
 * opening: it gets next-brief items at once, as it never has quiet hours either.
 */
function briefOf(
  store: StoreState,
  communication: CommunicationState,
  time: PlanTime,
): FeedBrief | undefined | typeof WAITING {
  if (communication.content.delivery !== 'next-brief' || !store.openingHours) return undefined;
  const publishedAt = communication.publishedAt ? new Date(communication.publishedAt) : time.now;
  let due: ReturnType<typeof nextOpening>;
  try {
    due = nextOpening(store.openingHours, store.timezone, publishedAt);
  } catch {
    return undefined; // a time zone this runtime does not know: do not hold the item back
  }
  // Never opens within a year: it waits until the store's hours change (that replans it).
  if (!due) return WAITING;
  if (due.at > time.now.getTime()) {
    time.waiting?.(due.at);
    return WAITING;
  }
  const latest = lastOpening(store.openingHours, store.timezone, time.now) ?? due;
  return { at: new Date(latest.at).toISOString(), date: latest.date };
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
 *
 * A normal item with `delivery: 'next-brief'` is published in the store only once its
 * opening has come (`time.now`), marked with the brief of the store's latest opening;
 * until then the plan leaves it out and reports when to plan again (`time.waiting`).
 */
export function planStoreFeed(
  store: StoreState,
  communications: Iterable<VersionedCommunication>,
  feed: StoreFeedState,
  time: PlanTime,
): FeedAppended[] {
  const entries: FeedAppended[] = [];
  let feedSeq = feed.head;
  for (const { state: communication, version } of communications) {
    const held = feed.items.get(communication.id);
    if (held && version < held.sourceVersion) continue;
    // Per store, beside the shared snapshot: this store's latest evidence rejection.
    const rejected = communication.evidenceRejections?.[store.id];
    const append = (change: FeedChange, brief = held?.brief) => {
      entries.push({
        storeId: store.id,
        feedSeq: ++feedSeq,
        change,
        communication: feedSnapshot(communication, store.locale),
        ...(rejected && change !== 'retracted' && change !== 'expired' ? { evidenceRejected: rejected } : {}),
        ...(brief ? { brief } : {}),
        sourceVersion: version,
      });
    };
    const wanted =
      store.exists && communication.status === 'published' && targetsStore(communication.content.audience, store);
    if (wanted) {
      if (!held?.live) {
        // First time in this store: a next-brief item may have to wait for its opening.
        const brief = held ? undefined : briefOf(store, communication, time);
        if (brief !== WAITING) append('published', brief);
      } else if (held.revision !== communication.revision) append('revised');
      // The same revision again, now with the store's evidence sent back: its tablets reopen the task.
      else if ((rejected?.rejection ?? 0) > (held.rejection ?? 0)) append('revised');
      // The store's locale changed, and with it the language it is shown (issue 22).
      else if (held.language !== feedSnapshot(communication, store.locale).language) append('revised');
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
      brief: entry.brief,
      language: entry.communication.language,
    }),
  );
  return true;
}
