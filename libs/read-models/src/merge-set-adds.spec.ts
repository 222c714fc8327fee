import { mergeSetAdds } from './projection';

describe('mergeSetAdds', () => {
  it('folds SADDs to one key into the first, keeping every other write and its order', () => {
    const feed1 = ['lmAppendFeed', 'feed:s1', 'head:s1', 1, '{}'] as [string, ...Array<string | number>];
    const feed2 = ['lmAppendFeed', 'feed:s2', 'head:s2', 1, '{}'] as [string, ...Array<string | number>];
    const merged = mergeSetAdds([feed1, ['SADD', 'targeted:c1', 's1'], feed2, ['SADD', 'targeted:c1', 's2']]);
    expect(merged).toEqual([feed1, ['SADD', 'targeted:c1', 's1', 's2'], feed2]);
    expect(merged[0]).toBe(feed1);
    expect(merged[2]).toBe(feed2);
  });

  it('leaves SADDs alone on a key another write of the batch touches', () => {
    const writes: Array<[string, ...Array<string | number>]> = [
      ['SADD', 'k', 'a'],
      ['SREM', 'k', 'a'],
      ['SADD', 'k', 'b'],
    ];
    expect(mergeSetAdds(writes)).toEqual(writes);
  });
});
