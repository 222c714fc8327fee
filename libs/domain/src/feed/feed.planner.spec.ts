import type { Audience, FeedAppended } from '@lastmeter/contracts';
import type { CommunicationState, CommunicationStatus } from '../communication/communication.state';
import { TRAINING } from '../communication/communication.testing';
import type { StoreState } from '../store/store.state';
import {
  applyFeedEntry,
  emptyStoreFeed,
  feedSnapshot,
  planStoreFeed,
  targetsStore,
  type StoreFeedState,
  type VersionedCommunication,
} from './feed.planner';

const STORE: StoreState = {
  exists: true,
  id: 'store-1',
  code: 'S001',
  name: 'Lyon Centre',
  regionId: 'region-north',
  tags: ['flagship'],
  locale: 'fr',
  timezone: 'Europe/Paris',
};

const STATUS_VERSION: Record<CommunicationStatus, number> = {
  none: 0,
  drafted: 1,
  submitted: 2,
  approved: 3,
  rejected: 3,
  scheduled: 4,
  published: 4,
  retracted: 5,
  expired: 5,
};

/** A communication in `status`, at a plausible aggregateVersion (each revision adds one). */
function communication(
  id: string,
  status: CommunicationStatus,
  audience: Audience = { regionIds: ['region-north'] },
  revision = 1,
): VersionedCommunication {
  return { state: communicationState(id, status, audience, revision), version: STATUS_VERSION[status] + revision - 1 };
}

function communicationState(
  id: string,
  status: CommunicationStatus,
  audience: Audience,
  revision: number,
): CommunicationState {
  return {
    exists: true,
    id,
    status,
    revision,
    content: { kind: 'notice', title: `Notice ${id}`, body: 'Body', priority: 'normal', audience },
    author: { id: 'editor', role: 'hq-editor' },
    selfApproved: true,
  };
}

/** Plans, applies and returns the entries, so a second plan sees the result. */
function plan(feed: StoreFeedState, communications: VersionedCommunication[], store = STORE): FeedAppended[] {
  const entries = planStoreFeed(store, communications, feed, { now: new Date() });
  for (const entry of entries) applyFeedEntry(feed, entry);
  return entries;
}

const changes = (entries: FeedAppended[]) => entries.map((e) => [e.feedSeq, e.change, e.communication.id]);

describe('targetsStore', () => {
  it.each<[string, Audience, boolean]>([
    ['all stores', { all: true }, true],
    ['its region', { regionIds: ['region-south', 'region-north'] }, true],
    ['another region', { regionIds: ['region-south'] }, false],
    ['the store by id', { storeIds: ['store-1'] }, true],
    ['another store', { storeIds: ['store-2'] }, false],
    ['one of its tags', { tags: ['outlet', 'flagship'] }, true],
    ['other tags', { tags: ['outlet'] }, false],
    ['roles alone', { roles: ['cashier'] }, false],
    ['a union of parts', { regionIds: ['region-south'], tags: ['flagship'] }, true],
  ])('%s → %s', (_, audience, expected) => {
    expect(targetsStore(audience, STORE)).toBe(expected);
  });
});

describe('planStoreFeed', () => {
  it('publishes a live communication that targets the store, once', () => {
    const feed = emptyStoreFeed();
    const notice = communication('c1', 'published');
    expect(changes(plan(feed, [notice]))).toEqual([[1, 'published', 'c1']]);
    expect(plan(feed, [notice])).toEqual([]);
  });

  it('numbers entries after the head without gaps', () => {
    const feed = emptyStoreFeed();
    plan(feed, [communication('c1', 'published')]);
    expect(changes(plan(feed, [communication('c2', 'published'), communication('c3', 'published')]))).toEqual([
      [2, 'published', 'c2'],
      [3, 'published', 'c3'],
    ]);
  });

  it('ignores communications that are not live or do not target the store', () => {
    const feed = emptyStoreFeed();
    const others = [
      communication('draft', 'drafted'),
      communication('scheduled', 'scheduled'),
      communication('south', 'published', { regionIds: ['region-south'] }),
    ];
    expect(plan(feed, others)).toEqual([]);
  });

  it('follows revisions, retractions and expiries of what the store holds', () => {
    const feed = emptyStoreFeed();
    plan(feed, [communication('c1', 'published'), communication('c2', 'published')]);
    expect(changes(plan(feed, [communication('c1', 'published', undefined, 2)]))).toEqual([[3, 'revised', 'c1']]);
    expect(
      changes(plan(feed, [communication('c1', 'retracted', undefined, 2), communication('c2', 'expired')])),
    ).toEqual([
      [4, 'retracted', 'c1'],
      [5, 'expired', 'c2'],
    ]);
    expect(plan(feed, [communication('c1', 'retracted', undefined, 2), communication('c2', 'expired')])).toEqual([]);
  });

  it('gives a store that moved into the audience what is live, and retracts it when it moves out', () => {
    const feed = emptyStoreFeed();
    const north = communication('c1', 'published');
    expect(plan(feed, [north], { ...STORE, regionId: 'region-south' })).toEqual([]);
    expect(changes(plan(feed, [north]))).toEqual([[1, 'published', 'c1']]);
    expect(changes(plan(feed, [north], { ...STORE, regionId: 'region-south' }))).toEqual([[2, 'retracted', 'c1']]);
  });

  it('waits when its view of a communication is older than what the feed shows', () => {
    const feed = emptyStoreFeed();
    plan(feed, [communication('c1', 'published', undefined, 2)]);
    // The view still has revision 1, or has not read the communication at all.
    expect(plan(feed, [communication('c1', 'published')])).toEqual([]);
    expect(plan(feed, [{ state: communicationState('c1', 'none', {}, 0), version: 0 }])).toEqual([]);
    expect(changes(plan(feed, [communication('c1', 'retracted', undefined, 2)]))).toEqual([[2, 'retracted', 'c1']]);
  });

  it('never gives a store what expired or was retracted before it arrived', () => {
    const feed = emptyStoreFeed();
    expect(plan(feed, [communication('c1', 'retracted'), communication('c2', 'expired')])).toEqual([]);
  });
});

describe('feedSnapshot', () => {
  it('keeps quiz answers and the audience at head office, but tells which roles may see it', () => {
    const training: CommunicationState = {
      ...communicationState('t1', 'published', {}, 1),
      content: { ...TRAINING, audience: { all: true, roles: ['cashier'] } },
    };
    const snapshot = feedSnapshot(training);
    expect(snapshot.questions).toEqual([{ prompt: 'Tap limit?', options: ['50', '100'] }]);
    expect(snapshot.roles).toEqual(['cashier']);
    expect(snapshot).not.toHaveProperty('audience');
  });
});

describe('applyFeedEntry', () => {
  it('is idempotent and refuses a gap', () => {
    const feed = emptyStoreFeed();
    const [entry] = planStoreFeed(STORE, [communication('c1', 'published')], feed, { now: new Date() });
    expect(applyFeedEntry(feed, entry)).toBe(true);
    expect(applyFeedEntry(feed, entry)).toBe(false);
    expect(() => applyFeedEntry(feed, { ...entry, feedSeq: 5 })).toThrow(/gap/);
  });
});

describe('planStoreFeed: evidence sent back', () => {
  const task = (rejections?: CommunicationState['evidenceRejections']): VersionedCommunication => {
    const base = communication('t1', 'published');
    return { ...base, state: { ...base.state, evidenceRejections: rejections } };
  };

  it('repeats the same revision for the store whose evidence was rejected, once per rejection', () => {
    const feed = emptyStoreFeed();
    plan(feed, [task()]);
    const rejected = task({ 'store-1': { reason: 'Blurry', rejection: 1 } });
    const [entry, ...more] = plan(feed, [rejected]);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      feedSeq: 2,
      change: 'revised',
      communication: { id: 't1', revision: 1 },
      evidenceRejected: { reason: 'Blurry', rejection: 1 },
    });
    expect(plan(feed, [rejected])).toEqual([]);
    expect(changes(plan(feed, [task({ 'store-1': { reason: 'Still blurry', rejection: 2 } })]))).toEqual([
      [3, 'revised', 't1'],
    ]);
  });

  it("leaves other stores' feeds alone and keeps the rejection on later revisions of the store's entry", () => {
    const feed = emptyStoreFeed();
    plan(feed, [task()]);
    expect(plan(feed, [task({ 'store-2': { reason: 'Wrong shelf', rejection: 1 } })])).toEqual([]);
    const rejected = task({ 'store-1': { reason: 'Blurry', rejection: 1 } });
    plan(feed, [rejected]);
    const revised = { ...rejected, state: { ...rejected.state, revision: 2 }, version: rejected.version + 1 };
    expect(plan(feed, [revised])).toEqual([
      expect.objectContaining({ change: 'revised', evidenceRejected: { reason: 'Blurry', rejection: 1 } }),
    ]);
  });
});

describe('planStoreFeed: the daily brief', () => {
  // Paris, Monday to Friday 09:00-18:00 (08:00 UTC in winter).
  const PARIS: StoreState = {
    ...STORE,
    openingHours: {
      mon: ['09:00', '18:00'],
      tue: ['09:00', '18:00'],
      wed: ['09:00', '18:00'],
      thu: ['09:00', '18:00'],
      fri: ['09:00', '18:00'],
    },
  };
  const nextBrief = (id: string, publishedAt: string, priority: 'normal' | 'urgent' = 'normal') => {
    const { state, version } = communication(id, 'published');
    return {
      version,
      state: { ...state, publishedAt, content: { ...state.content, priority, delivery: 'next-brief' as const } },
    };
  };
  const at = (iso: string) => ({ now: new Date(iso), waiting: jest.fn<void, [number]>() });

  it('holds a next-brief item until the store opens, then publishes it in that opening’s brief', () => {
    const feed = emptyStoreFeed();
    // Wednesday 11:00 in Paris: open, so it waits for Thursday's opening.
    const item = nextBrief('c1', '2026-12-02T10:00:00Z');
    const evening = at('2026-12-02T17:00:00Z');
    expect(planStoreFeed(PARIS, [item], feed, evening)).toEqual([]);
    expect(evening.waiting).toHaveBeenCalledWith(Date.parse('2026-12-03T08:00:00Z'));
    const opening = at('2026-12-03T08:00:00Z');
    const [entry] = planStoreFeed(PARIS, [item], feed, opening);
    expect(entry).toMatchObject({ change: 'published', brief: { at: '2026-12-03T08:00:00.000Z', date: '2026-12-03' } });
    expect(opening.waiting).not.toHaveBeenCalled();
    applyFeedEntry(feed, entry!);
    expect(planStoreFeed(PARIS, [item], feed, at('2026-12-03T09:00:00Z'))).toEqual([]);
  });

  it('bundles what came due during an outage into the brief of the latest opening, once', () => {
    const feed = emptyStoreFeed();
    const items = [nextBrief('c1', '2026-12-02T10:00:00Z'), nextBrief('c2', '2026-12-03T12:00:00Z')];
    // The services come back on Friday afternoon: Thursday's and Friday's openings have passed.
    expect(planStoreFeed(PARIS, items, feed, at('2026-12-03T07:00:00Z'))).toEqual([]);
    const recovered = planStoreFeed(PARIS, items, feed, at('2026-12-04T13:00:00Z'));
    expect(recovered.map((e) => [e.feedSeq, e.communication.id, e.brief])).toEqual([
      [1, 'c1', { at: '2026-12-04T08:00:00.000Z', date: '2026-12-04' }],
      [2, 'c2', { at: '2026-12-04T08:00:00.000Z', date: '2026-12-04' }],
    ]);
  });

  it('keeps the brief on revisions and retractions of the item', () => {
    const feed = emptyStoreFeed();
    const item = nextBrief('c1', '2026-12-02T10:00:00Z');
    const time = at('2026-12-03T08:30:00Z');
    for (const entry of planStoreFeed(PARIS, [item], feed, time)) applyFeedEntry(feed, entry);
    const revised = { state: { ...item.state, revision: 2 }, version: item.version + 1 };
    const [entry] = planStoreFeed(PARIS, [revised], feed, time);
    expect(entry).toMatchObject({ change: 'revised', brief: { date: '2026-12-03' } });
    applyFeedEntry(feed, entry!);
    const retracted = { state: { ...revised.state, status: 'retracted' as const }, version: revised.version + 1 };
    expect(planStoreFeed(PARIS, [retracted], feed, time)[0]).toMatchObject({
      change: 'retracted',
      brief: { date: '2026-12-03' },
    });
  });

  it('delivers at once to a store without opening hours, and delivers urgent items at once', () => {
    const time = at('2026-12-02T17:00:00Z');
    expect(planStoreFeed(STORE, [nextBrief('c1', '2026-12-02T10:00:00Z')], emptyStoreFeed(), time)).toMatchObject([
      { change: 'published' },
    ]);
    const [urgent] = planStoreFeed(PARIS, [communication('c2', 'published')], emptyStoreFeed(), time);
    expect(urgent).toMatchObject({ change: 'published' });
    expect(urgent).not.toHaveProperty('brief');
    expect(time.waiting).not.toHaveBeenCalled();
  });

  it('holds an item for a store that never opens until its hours change', () => {
    const closed: StoreState = { ...STORE, openingHours: {} };
    const time = at('2026-12-02T17:00:00Z');
    expect(planStoreFeed(closed, [nextBrief('c1', '2026-12-02T10:00:00Z')], emptyStoreFeed(), time)).toEqual([]);
    expect(time.waiting).not.toHaveBeenCalled();
  });
});

describe('planStoreFeed: translations', () => {
  const translated = (): VersionedCommunication => {
    const { state, version } = communication('c1', 'published', { all: true });
    const translations = {
      'fr-BE': { title: 'Avis', body: 'Texte' },
      es: { title: 'Aviso', body: 'Texto', stale: true as const },
    };
    return { version, state: { ...state, content: { ...state.content, translations } } };
  };
  const shown = (locale: string, item = translated()) =>
    planStoreFeed({ ...STORE, locale }, [item], emptyStoreFeed(), { now: new Date() })[0]!.communication;

  it('gives each store its locale’s text, the default otherwise, and one shared snapshot per language', () => {
    const item = translated();
    expect(shown('fr-BE', item)).toMatchObject({ title: 'Avis', body: 'Texte', language: 'fr-BE' });
    expect(shown('es-ES', item)).toMatchObject({ title: 'Notice c1', language: 'en' }); // stale: the default
    expect(shown('de-DE', item)).toMatchObject({ title: 'Notice c1', language: 'en' });
    expect(shown('fr-BE', item)).toBe(shown('fr-BE', item));
    expect(shown('de-DE', item)).toBe(shown('nl-NL', item));
  });

  it('says no language on a communication without translations', () => {
    expect(shown('fr-BE', communication('c2', 'published', { all: true }))).not.toHaveProperty('language');
  });
});

describe('planStoreFeed: a store whose locale changes', () => {
  it('gets the items it holds again in its new language, once', () => {
    const { state, version } = communication('c1', 'published', { all: true });
    const item = {
      version,
      state: { ...state, content: { ...state.content, translations: { 'fr-BE': { title: 'Avis', body: 'Texte' } } } },
    };
    const feed = emptyStoreFeed();
    const time = { now: new Date() };
    const plain = communication('c2', 'published', { all: true });
    for (const entry of planStoreFeed({ ...STORE, locale: 'en-GB' }, [item, plain], feed, time))
      applyFeedEntry(feed, entry);
    const moved = planStoreFeed({ ...STORE, locale: 'fr-BE' }, [item, plain], feed, time);
    expect(moved.map((e) => [e.feedSeq, e.change, e.communication.id, e.communication.title])).toEqual([
      [3, 'revised', 'c1', 'Avis'],
    ]);
    for (const entry of moved) applyFeedEntry(feed, entry);
    expect(planStoreFeed({ ...STORE, locale: 'fr-BE' }, [item, plain], feed, time)).toEqual([]);
  });
});
