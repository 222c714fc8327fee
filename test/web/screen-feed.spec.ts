import type { FeedCommunication, FeedMessage } from '@lastmeter/contracts';
import { applyFeed, newestFirst, type ScreenItem } from '../../web/src/screen/screen-feed';
import { interrupts } from '../../web/src/shared/priority';

const communication = (id: string, priority = 'normal'): FeedCommunication =>
  ({ id, revision: 1, kind: 'notice', title: id, body: '', priority }) as FeedCommunication;
const entry = (feedSeq: number, id: string, change: 'published' | 'revised' | 'retracted' | 'expired'): FeedMessage =>
  ({ feedSeq, change, communication: communication(id), at: new Date().toISOString() }) as FeedMessage;

describe('the break-room screen’s live set', () => {
  it('takes published and revised items in, retracted and expired out, newest first; hidden ones not at all', () => {
    let live = new Map<string, ScreenItem>();
    for (const message of [
      entry(1, 'a', 'published'),
      entry(2, 'b', 'published'),
      entry(3, 'a', 'revised'),
      entry(4, 'c', 'published'),
      entry(5, 'b', 'retracted'),
      { feedSeq: 6, hidden: true } as FeedMessage,
    ]) {
      live = applyFeed(live, message);
    }
    expect(newestFirst(live).map((i) => i.communication.id)).toEqual(['c', 'a']);
    live = applyFeed(live, entry(7, 'c', 'expired'));
    expect(newestFirst(live).map((i) => i.communication.id)).toEqual(['a']);
  });

  it('starts again on reset', () => {
    const live = applyFeed(new Map([['a', { communication: communication('a') }]]), {
      ...entry(9, 'z', 'published'),
      reset: true,
    });
    expect([...live.keys()]).toEqual(['z']);
  });

  it('keeps the daily brief an item came in, through its revisions', () => {
    const brief = { at: '2026-12-02T08:00:00.000Z', date: '2026-12-02' };
    let live = applyFeed(new Map(), { ...entry(1, 'a', 'published'), brief } as FeedMessage);
    live = applyFeed(live, { ...entry(2, 'a', 'revised'), brief } as FeedMessage);
    live = applyFeed(live, entry(3, 'b', 'published'));
    expect(newestFirst(live).map((i) => [i.communication.id, i.brief])).toEqual([
      ['b', undefined],
      ['a', brief],
    ]);
  });

  it('pins urgent items when the store is open, critical ones always', () => {
    expect([interrupts('urgent', false), interrupts('urgent', true)]).toEqual([true, false]);
    expect([interrupts('critical', false), interrupts('critical', true)]).toEqual([true, true]);
    expect(interrupts('normal', false)).toBe(false);
  });
});
