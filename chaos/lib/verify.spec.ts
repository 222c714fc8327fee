import type { TerminalRecord } from './terminals';
import { countDeliveries, countReceipts, recoverySeconds, type StoreFeeds } from './verify';

const terminal = (seqs: number[], ids: string[], extra: Partial<TerminalRecord> = {}): TerminalRecord => ({
  terminalId: 't1',
  storeId: 's1',
  seqs,
  ids,
  at: seqs.map(() => 0),
  via: seqs.map(() => 'feed#1'),
  acked: [],
  receiptErrors: [],
  reconnects: 0,
  ...extra,
});

const feeds: StoreFeeds = new Map([
  [
    's1',
    new Map([
      [1, 'a'],
      [2, 'b'],
      [3, ''],
      [4, 'd'],
    ]),
  ],
]);

describe('countDeliveries', () => {
  it('finds nothing wrong with every entry once and in order', () => {
    expect(countDeliveries([terminal([1, 2, 3, 4], ['a', 'b', '', 'd'])], feeds)).toEqual({
      lost: 0,
      duplicated: 0,
      outOfOrder: 0,
      mismatched: 0,
      examples: [],
    });
  });

  it('counts a missing entry, a repeated one, a late one and a wrong one', () => {
    const via = ['feed#1', 'feed#1', 'feed.snapshot+reset#2', 'feed#2'];
    expect(countDeliveries([terminal([2, 1, 2, 4], ['b', 'a', 'b', 'x'], { via })], feeds)).toEqual({
      lost: 1,
      duplicated: 1,
      outOfOrder: 1,
      mismatched: 1,
      examples: [
        'terminal t1: feedSeq 1 after 2',
        'terminal t1: feedSeq 2 again (feed.snapshot+reset#2, after 1; first feed#1)',
        'terminal t1: feedSeq 4 is "x", the log has "d"',
        'terminal t1: feedSeq 3 never came',
      ],
    });
  });

  it('counts every entry of the store as lost for a terminal that got nothing', () => {
    expect(countDeliveries([terminal([], [])], feeds).lost).toBe(4);
  });
});

describe('countReceipts', () => {
  it('finds each acked receipt in the log once, and counts what is missing or logged twice', () => {
    const terminals = [terminal([], [], { acked: ['a', 'b', 'b'] })];
    expect(
      countReceipts(terminals, [
        { terminalId: 't1', communicationId: 'a' },
        { terminalId: 't1', communicationId: 'a' },
      ]),
    ).toEqual({ acked: 2, lost: 1, duplicated: 1 });
  });
});

describe('recoverySeconds', () => {
  it('runs from the fault to the last terminal getting the first region-wide publish tried after it', () => {
    const terminals = [
      { ...terminal([1, 2], ['before', 'after']), terminalId: 't1', at: [500, 4_000] },
      { ...terminal([1, 2], ['before', 'after']), terminalId: 't2', at: [600, 6_000] },
    ];
    const published = [
      { id: 'before', stores: ['s1', 's2'], tried: 100 },
      { id: 'partial', stores: ['s1'], tried: 1_500 },
      { id: 'after', stores: ['s1', 's2'], tried: 2_000 },
    ];
    expect(recoverySeconds(1_000, published, terminals, 2)).toBe(5);
    expect(recoverySeconds(3_000, published, terminals, 2)).toBeUndefined();
  });
});
