import { byteLength, FEED_BUDGET_BYTES, itemsToDrop, type BudgetEntry } from '../../web/src/store/feed-budget';

/** The tablet's storage budget (web/src/store/feed-budget.ts), without a browser. */
const entry = (id: string, feedSeq: number, bytes: number, active: boolean): BudgetEntry => ({
  id,
  feedSeq,
  bytes,
  active,
});

describe('itemsToDrop', () => {
  it('drops nothing when everything fits', () => {
    expect(itemsToDrop([entry('a', 1, 400, false), entry('b', 2, 400, true)], 200, 1_000)).toEqual([]);
  });

  it('drops the oldest items outside the active list first, only as many as needed', () => {
    const entries = [
      entry('live-old', 1, 300, true),
      entry('aged-2', 3, 300, false),
      entry('aged-1', 2, 300, false),
      entry('aged-3', 4, 300, false),
      entry('live-new', 5, 300, true),
    ];
    // 100 + 5 × 300 = 1,600 bytes: down to 1,000 for a budget of 1,000, to 700 for 999.
    expect(itemsToDrop(entries, 100, 1_000)).toEqual(['aged-1', 'aged-2']);
    expect(itemsToDrop(entries, 100, 999)).toEqual(['aged-1', 'aged-2', 'aged-3']);
    expect(itemsToDrop(entries, 100, 1_600)).toEqual([]);
  });

  it('drops the oldest active items only when the others are not enough', () => {
    const entries = [entry('live-1', 1, 300, true), entry('aged', 2, 300, false), entry('live-2', 3, 300, true)];
    expect(itemsToDrop(entries, 100, 500)).toEqual(['aged', 'live-1']);
  });

  it('drops every item when the rest alone is over the budget (the outbox is never dropped)', () => {
    expect(itemsToDrop([entry('a', 1, 10, true), entry('b', 2, 10, false)], 2_000, 1_000)).toEqual(['b', 'a']);
  });
});

describe('byteLength', () => {
  it('counts the UTF-8 bytes of the JSON', () => {
    expect(byteLength({ a: 'é' })).toBe('{"a":"é"}'.length + 1);
    expect(byteLength('x'.repeat(10))).toBe(12);
    expect(FEED_BUDGET_BYTES).toBe(1024 * 1024);
  });
});
