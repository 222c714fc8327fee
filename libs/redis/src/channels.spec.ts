import {
  decodeFeedNotice,
  encodeCommittedFeedNotice,
  encodeFeedNotice,
  NOTICE_ITEMS_MAX_CHARS,
  readFeedNotice,
} from './channels';

describe('feed notices', () => {
  it('carry each store once, at its highest feedSeq of the batch', () => {
    const message = encodeFeedNotice([
      { storeId: 'a', feedSeq: 3 },
      { storeId: 'b', feedSeq: 1 },
      { storeId: 'a', feedSeq: 4 },
    ]);
    expect(decodeFeedNotice(message)).toEqual([
      { storeId: 'a', feedSeq: 4 },
      { storeId: 'b', feedSeq: 1 },
    ]);
  });

  it('carry the items of each store, in order, while they fit', () => {
    const item = (storeId: string, feedSeq: number, size = 10) => ({
      storeId,
      feedSeq,
      item: JSON.stringify({ feedSeq, body: 'x'.repeat(size) }),
    });
    const message = encodeFeedNotice([item('a', 3), item('b', 1), item('a', 4)]);
    expect(decodeFeedNotice(message)).toEqual([
      { storeId: 'a', feedSeq: 4, items: [item('a', 3).item, item('a', 4).item] },
      { storeId: 'b', feedSeq: 1, items: [item('b', 1).item] },
    ]);
    // Beyond the bound, a store's items are left out whole (heads only); the others still fit.
    const big = NOTICE_ITEMS_MAX_CHARS - 100;
    expect(decodeFeedNotice(encodeFeedNotice([item('a', 1, big), item('b', 1, 200), item('c', 1)]))).toEqual([
      { storeId: 'a', feedSeq: 1, items: [item('a', 1, big).item] },
      { storeId: 'b', feedSeq: 1 },
      { storeId: 'c', feedSeq: 1, items: [item('c', 1).item] },
    ]);
    // Not one after another (items above a gap), or without the item: heads only.
    expect(decodeFeedNotice(encodeFeedNotice([item('a', 1), item('a', 3), { storeId: 'b', feedSeq: 2 }]))).toEqual([
      { storeId: 'a', feedSeq: 3 },
      { storeId: 'b', feedSeq: 2 },
    ]);
  });

  it('sent on commit, announce only the stores whose items they carry, and are nothing without items', () => {
    const item = (storeId: string, feedSeq: number, size = 10) => ({
      storeId,
      feedSeq,
      item: JSON.stringify({ feedSeq, body: 'x'.repeat(size) }),
    });
    const big = NOTICE_ITEMS_MAX_CHARS - 100;
    const message = encodeCommittedFeedNotice([item('a', 1, big), item('b', 1, 200), item('c', 5), item('c', 6)]);
    expect(decodeFeedNotice(message!)).toEqual([
      { storeId: 'a', feedSeq: 1, items: [item('a', 1, big).item] },
      { storeId: 'c', feedSeq: 6, items: [item('c', 5).item, item('c', 6).item] },
    ]);
    expect(encodeCommittedFeedNotice([item('a', 1, NOTICE_ITEMS_MAX_CHARS)])).toBeUndefined();
    expect(encodeCommittedFeedNotice([{ storeId: 'a', feedSeq: 2 }])).toBeUndefined();
    expect(encodeCommittedFeedNotice([])).toBeUndefined();
  });

  it("say whether Redis holds what they announce: a projector's do, the one on commit does not", () => {
    const appended = [{ storeId: 'a', feedSeq: 1, item: '{"feedSeq":1}' }];
    expect(readFeedNotice(encodeFeedNotice(appended)).projected).toBe(true);
    expect(readFeedNotice(encodeCommittedFeedNotice(appended)!).projected).toBe(false);
    // Projectors from before the mark send neither form with it.
    expect(readFeedNotice(JSON.stringify({ storeId: 's', feedSeq: 7 })).projected).toBe(true);
  });

  it('still read the one-store form older projectors send', () => {
    expect(decodeFeedNotice(JSON.stringify({ storeId: 's', feedSeq: 7 }))).toEqual([{ storeId: 's', feedSeq: 7 }]);
  });

  it('refuse anything else', () => {
    expect(() => decodeFeedNotice('{"hello":1}')).toThrow('not a feed notice');
    expect(() => decodeFeedNotice('nope')).toThrow();
  });
});
