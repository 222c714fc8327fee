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
