import { dropRepeatedWrites, foldScripts, mergeHashSetNx, mergeSetAdds, type Write } from './projection';

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

describe('dropRepeatedWrites', () => {
  it('keeps the first of each repeated idempotent write, and every other write, in order', () => {
    const writes: Array<[string, ...Array<string | number>]> = [
      ['lmHashMax', 'revision:c1', 's1/t1', 2],
      ['HSETNX', 'delivered:c1', 's1/t1', 'at1'],
      ['lmReachStore', 'reach:c1', 'by-region', 'region-of', 'comms', 'stores', 's1', 2, 'delivered', 'c1'],
      ['lmHashMax', 'revision:c1', 's1/t1', 2],
      ['HSETNX', 'read:c1', 's1/t1', 'at2'],
      ['lmReachStore', 'reach:c1', 'by-region', 'region-of', 'comms', 'stores', 's1', 2, 'delivered', 'c1'],
      ['lmReachStore', 'reach:c1', 'by-region', 'region-of', 'comms', 'stores', 's1', 4, 'read', 'c1'],
      ['lmHashMax', 'revision:c1', 's1/t1', 3],
      ['HSET', 'quiz:c1', 's1/t1', 1],
      ['HSET', 'quiz:c1', 's1/t1', 1],
    ];
    expect(dropRepeatedWrites(writes)).toEqual([
      writes[0],
      writes[1],
      writes[2],
      writes[4],
      writes[6],
      writes[7],
      writes[8],
      writes[9],
    ]);
  });
});

describe('mergeHashSetNx', () => {
  it('folds the HSETNXs to one key into one lmHashSetNx where the first was, pairs in order', () => {
    const other = ['lmHashMax', 'revision:c1', 's1/t1', 2] as [string, ...Array<string | number>];
    const merged = mergeHashSetNx([
      ['HSETNX', 'read:c1', 's1/t1', 'at1'],
      other,
      ['HSETNX', 'delivered:c1', 's1/t1', 'at1'],
      ['HSETNX', 'read:c1', 's1/t2', 'at2'],
      ['HSETNX', 'read:c1', 's1/t1', 'at3'],
    ]);
    expect(merged).toEqual([
      ['lmHashSetNx', 'read:c1', 's1/t1', 'at1', 's1/t2', 'at2', 's1/t1', 'at3'],
      other,
      ['lmHashSetNx', 'delivered:c1', 's1/t1', 'at1'],
    ]);
    expect(merged[1]).toBe(other);
  });

  it('leaves HSETNXs alone on a key another write of the batch touches', () => {
    const writes: Array<[string, ...Array<string | number>]> = [
      ['HSETNX', 'k', 'f', 'a'],
      ['HDEL', 'k', 'f'],
      ['HSETNX', 'k', 'f', 'b'],
    ];
    expect(mergeHashSetNx(writes)).toEqual(writes);
  });
});

describe('foldScripts', () => {
  const reachKeys = ['reach:c1', 'reach:c1:by-region', 'region-of', 'reach-comms', 'reach-stores'];
  it('folds the lmReachStores of one communication and the lmHashMaxes of one hash where the first was', () => {
    const other: Write = ['HSET', 'doc', 'f', 'v'];
    const merged = foldScripts([
      ['lmReachStore', ...reachKeys, 's1', 2, 'delivered', 'c1'],
      ['lmHashMax', 'revision:c1', 's1/t1', 2],
      other,
      ['lmReachStore', ...reachKeys, 's2', 4, 'read', 'c1'],
      ['lmHashMax', 'revision:c1', 's2/t1', 1],
      [
        'lmReachStore',
        'reach:c2',
        'reach:c2:by-region',
        'region-of',
        'reach-comms',
        'reach-stores',
        's1',
        2,
        'delivered',
        'c2',
      ],
    ]);
    expect(merged).toEqual([
      ['lmReachStores', ...reachKeys, 'c1', 's1', 2, 'delivered', 's2', 4, 'read'],
      ['lmHashMaxMany', 'revision:c1', 's1/t1', 2, 's2/t1', 1],
      other,
      [
        'lmReachStores',
        'reach:c2',
        'reach:c2:by-region',
        'region-of',
        'reach-comms',
        'reach-stores',
        'c2',
        's1',
        2,
        'delivered',
      ],
    ]);
    expect(merged[2]).toBe(other);
  });

  it('leaves lmHashMax alone on a hash another write of the batch touches', () => {
    const writes: Write[] = [
      ['lmHashMax', 'k', 'f', 1],
      ['HDEL', 'k', 'f'],
      ['lmHashMax', 'k', 'f', 2],
    ];
    expect(foldScripts(writes)).toEqual(writes);
  });
});
