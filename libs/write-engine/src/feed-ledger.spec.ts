import { Logger } from '@nestjs/common';
import type { FeedAppended } from '@lastmeter/contracts';
import { FeedLedger } from './feed-ledger';

const entry = (storeId: string, feedSeq: number, change: FeedAppended['change'] = 'published'): FeedAppended => ({
  storeId,
  feedSeq,
  change,
  communication: { id: 'c1', revision: 1, kind: 'notice', title: 't', body: 'b', priority: 'normal' },
  sourceVersion: 3,
});

describe('FeedLedger', () => {
  it('starts every store at feedSeq 0 with nothing in its feed', () => {
    const feed = new FeedLedger().of('s1');
    expect(feed.head).toBe(0);
    expect(feed.items.size).toBe(0);
  });

  it('folds entries in by feedSeq, each store on its own', () => {
    const ledger = new FeedLedger();
    expect(ledger.apply(entry('s1', 1))).toBe(true);
    expect(ledger.apply(entry('s1', 2, 'retracted'))).toBe(true);
    expect(ledger.apply(entry('s2', 1))).toBe(true);
    expect(ledger.of('s1').head).toBe(2);
    expect(ledger.of('s1').items.get('c1')).toEqual({ revision: 1, live: false, sourceVersion: 3 });
    expect(ledger.of('s2').head).toBe(1);
  });

  it('ignores an entry it already has (the tail re-reading the sequencer own appends)', () => {
    const ledger = new FeedLedger();
    ledger.apply(entry('s1', 1));
    expect(ledger.apply(entry('s1', 1, 'retracted'))).toBe(false);
    expect(ledger.of('s1').items.get('c1')?.live).toBe(true);
  });

  it('reports a gap loudly but keeps every other store going', () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const ledger = new FeedLedger();
    expect(ledger.apply(entry('s1', 3))).toBe(false);
    expect(error).toHaveBeenCalledWith('gap in the feed of store s1: at 0, got 3');
    expect(ledger.apply(entry('s2', 1))).toBe(true);
    error.mockRestore();
  });
});
