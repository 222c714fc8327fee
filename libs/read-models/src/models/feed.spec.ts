import type { FeedChange, FeedItem } from '@lastmeter/contracts';
import { liveSet } from './feed';

const NOW = new Date('2026-11-30T10:00:00.000Z');

function entry(feedSeq: number, id: string, change: FeedChange, extra: { revision?: number; expiresAt?: string } = {}) {
  return {
    feedSeq,
    change,
    at: new Date(NOW.getTime() - 1_000_000 + feedSeq).toISOString(),
    communication: {
      id,
      revision: extra.revision ?? 1,
      kind: 'notice',
      title: id,
      body: '',
      priority: 'normal',
      ...(extra.expiresAt ? { expiresAt: extra.expiresAt } : {}),
    },
  } satisfies FeedItem;
}

describe('liveSet', () => {
  it('is empty for an empty feed', () => {
    expect(liveSet([], NOW)).toEqual([]);
  });

  it('keeps each live communication once, as its latest entry, in feedSeq order', () => {
    const entries = [
      entry(1, 'a', 'published'),
      entry(2, 'b', 'published'),
      entry(3, 'a', 'revised', { revision: 2 }),
      entry(4, 'c', 'published'),
    ];
    expect(liveSet(entries, NOW).map((e) => [e.feedSeq, e.communication.id, e.communication.revision])).toEqual([
      [2, 'b', 1],
      [3, 'a', 2],
      [4, 'c', 1],
    ]);
  });

  it.each([
    ['retracted', [entry(1, 'a', 'published'), entry(2, 'a', 'retracted')]],
    ['expired', [entry(1, 'a', 'published'), entry(2, 'a', 'expired')]],
    [
      'past its expiresAt before the expired entry',
      [entry(1, 'a', 'published', { expiresAt: '2026-11-30T09:59:59.999Z' })],
    ],
    ['expiring exactly now', [entry(1, 'a', 'published', { expiresAt: NOW.toISOString() })]],
    ['revised, then retracted', [entry(1, 'a', 'published'), entry(2, 'a', 'revised'), entry(3, 'a', 'retracted')]],
  ])('leaves out a communication %s', (_what, entries) => {
    expect(liveSet(entries, NOW)).toEqual([]);
  });

  it('keeps a communication published again after a retraction, and one expiring later', () => {
    const later = '2026-11-30T10:00:00.001Z';
    const entries = [
      entry(1, 'a', 'published'),
      entry(2, 'a', 'retracted'),
      entry(3, 'a', 'published'),
      entry(4, 'b', 'published', { expiresAt: later }),
    ];
    expect(liveSet(entries, NOW).map((e) => e.feedSeq)).toEqual([3, 4]);
  });
});

describe('liveSet with a notice age (NOTICE_MAX_AGE_DAYS)', () => {
  const DAY = 24 * 60 * 60 * 1000;
  const aged = (item: FeedItem, days: number, kind: FeedItem['communication']['kind'] = 'notice'): FeedItem => ({
    ...item,
    at: new Date(NOW.getTime() - days * DAY).toISOString(),
    communication: { ...item.communication, kind },
  });

  it('leaves out notices without expiry older than the age, and keeps younger ones', () => {
    const entries = [aged(entry(1, 'old', 'published'), 31), aged(entry(2, 'young', 'published'), 29)];
    expect(liveSet(entries, NOW, 30).map((e) => e.communication.id)).toEqual(['young']);
    // Time travel and other callers without an age: notices do not age.
    expect(liveSet(entries, NOW).map((e) => e.communication.id)).toEqual(['old', 'young']);
  });

  it('counts from the latest entry: a revision sends the notice again', () => {
    const entries = [aged(entry(1, 'a', 'published'), 60), aged(entry(2, 'a', 'revised', { revision: 2 }), 1)];
    expect(liveSet(entries, NOW, 30).map((e) => e.feedSeq)).toEqual([2]);
  });

  it('keeps old notices with a later expiry, and other kinds whatever their age', () => {
    const later = '2026-12-30T10:00:00.000Z';
    const entries = [
      aged(entry(1, 'expiring', 'published', { expiresAt: later }), 90),
      aged(entry(2, 'task', 'published'), 90, 'task'),
      aged(entry(3, 'training', 'published'), 90, 'training'),
      aged(entry(4, 'campaign', 'published'), 90, 'campaign'),
    ];
    expect(liveSet(entries, NOW, 30).map((e) => e.feedSeq)).toEqual([1, 2, 3, 4]);
  });
});
