import type { StoreState } from '@lastmeter/domain';
import type { ProjectionContext } from '../model';
import { RedisKeys } from '../redis-keys';
import { indexStore, matchesSearch, searchTerms } from './directory-index';

const keys = new RedisKeys('lm:', 'g1');
const store = (patch: Partial<StoreState> = {}): StoreState => ({
  exists: true,
  id: 's1',
  code: 'LY-01',
  name: 'Lyon Part-Dieu',
  regionId: 'r1',
  tags: ['flagship'],
  locale: 'fr',
  timezone: 'Europe/Paris',
  ...patch,
});

function writesOf(before: StoreState, after: StoreState): Array<Array<string | number>> {
  const writes: Array<Array<string | number>> = [];
  const context = {
    keys,
    write: (...args: Array<string | number>) => writes.push(args),
    script: (...args: Array<string | number>) => writes.push(args),
  } as unknown as ProjectionContext;
  indexStore(context, before, after);
  return writes;
}

describe('directory index', () => {
  it('puts every index key on one hash slot per deployment, in every generation', () => {
    expect(keys.index('by-region', 'r1')).toBe('lm:g1:{lm:dir}:by-region:r1');
    expect(keys.withGeneration('g2').index('rows')).toBe('lm:g2:{lm:dir}:rows');
  });

  it('searches by the code and each word of the name, lower case', () => {
    expect(searchTerms(store())).toEqual(['ly-01', 'lyon', 'part', 'dieu']);
    expect(matchesSearch(store(), 'LY')).toBe(true);
    expect(matchesSearch(store(), 'lyon die')).toBe(true);
    expect(matchesSearch(store(), 'lyon nice')).toBe(false);
    expect(matchesSearch(store(), 'dieu')).toBe(true);
  });

  it('indexes a new store and, on a move, removes only what no longer holds', () => {
    const created = writesOf({ ...store(), exists: false }, store());
    expect(created.filter(([name]) => name === 'ZREM')).toEqual([]);
    expect(created).toContainEqual(['ZADD', 'lm:g1:{lm:dir}:by-region:r1', 0, 'LY-01\u0000s1']);
    expect(created).toContainEqual(['ZADD', 'lm:g1:{lm:dir}:search', 0, 'lyon\u0000LY-01\u0000s1']);

    const moved = writesOf(store(), store({ regionId: 'r2', name: 'Lyon Bellecour', tags: [] }));
    expect(moved.filter(([name]) => name === 'ZREM')).toEqual([
      ['ZREM', 'lm:g1:{lm:dir}:by-region:r1', 'LY-01\u0000s1'],
      ['ZREM', 'lm:g1:{lm:dir}:by-tag:flagship', 'LY-01\u0000s1'],
      ['ZREM', 'lm:g1:{lm:dir}:search', 'part\u0000LY-01\u0000s1'],
      ['ZREM', 'lm:g1:{lm:dir}:search', 'dieu\u0000LY-01\u0000s1'],
    ]);
    expect(moved).toContainEqual(['ZADD', 'lm:g1:{lm:dir}:by-region:r2', 0, 'LY-01\u0000s1']);
    // Applying the same change again writes the same (idempotent) commands.
    expect(writesOf(store(), store({ regionId: 'r2', name: 'Lyon Bellecour', tags: [] }))).toEqual(moved);
  });

  it('records the region of a store (moving its reach counts) when it is registered or moves, only then', () => {
    const regionOf = (region: string) => [
      'lmStoreRegion',
      'lm:g1:{lm:dir}:region-of',
      'lm:g1:{lm:dir}:reach-stores',
      'lm:g1:{lm:dir}:reach-comms',
      's1',
      region,
      'lm:g1:{lm:dir}:reach:',
      'targeted',
      'delivered',
      'read',
      'acknowledged',
      'completed',
    ];
    expect(writesOf({ ...store(), exists: false }, store())).toContainEqual(regionOf('r1'));
    expect(writesOf(store(), store({ regionId: 'r2' }))).toContainEqual(regionOf('r2'));
    expect(writesOf(store(), store({ name: 'Lyon Bellecour' })).filter(([name]) => name === 'lmStoreRegion')).toEqual(
      [],
    );
  });
});
