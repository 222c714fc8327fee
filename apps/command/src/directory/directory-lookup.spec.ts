import {
  ACKNOWLEDGED_WRITES,
  CredentialStore,
  type AggregateStore,
  type CatchUpOptions,
  type EventTail,
} from '@lastmeter/write-engine';
import { DirectoryLookup } from './directory-lookup';

/**
 * The command service's reads for the HTTP layer, on an instance whose view lags behind
 * what another instance has just decided: each read that misses (or finds an older
 * version than the decision it follows) waits once for every acknowledged write
 * (ACKNOWLEDGED_WRITES), then reads again.
 */
describe('DirectoryLookup', () => {
  type Entry = { version: number; state: Record<string, unknown> };

  /** A view holding `now`, and `afterCatchUp` too once the tail has read on. */
  function lookupOver(now: Record<string, Entry>, afterCatchUp: Record<string, Entry> = {}) {
    const entries = new Map(Object.entries(now));
    const store = {
      load: async () => undefined,
      get: (type: string, id: string) => entries.get(`${type}/${id}`) ?? { version: 0, state: { exists: false } },
      userIdByName: async (name: string) => (entries.has(`user/${name}`) ? name : undefined),
    } as unknown as AggregateStore;
    const catchUps: Array<CatchUpOptions | undefined> = [];
    const tail = {
      catchUp: async (_partitions?: number[], options?: CatchUpOptions) => {
        catchUps.push(options);
        for (const [key, entry] of Object.entries(afterCatchUp)) entries.set(key, entry);
      },
    } as unknown as EventTail;
    return { lookup: new DirectoryLookup(store, new CredentialStore(), tail), catchUps };
  }

  const registered: Entry = { version: 1, state: { exists: true, storeId: 's1', kind: 'tablet', status: 'pending' } };
  const enrolled: Entry = { version: 2, state: { ...registered.state, status: 'active' } };

  it('reads a terminal at the version a decision answered with, waiting for the writes acknowledged so far', async () => {
    const { lookup, catchUps } = lookupOver({}, { 'terminal/t1': enrolled });
    expect(await lookup.terminalAt('t1', 2)).toMatchObject({ storeId: 's1', status: 'active' });
    expect(catchUps).toEqual([ACKNOWLEDGED_WRITES]);
  });

  it('reads a terminal this instance has seen at that version without waiting', async () => {
    const { lookup, catchUps } = lookupOver({ 'terminal/t1': enrolled });
    expect(await lookup.terminalAt('t1', 2)).toMatchObject({ storeId: 's1' });
    expect(catchUps).toEqual([]);
  });

  it('reads a user at a version this instance has not seen yet after waiting', async () => {
    const user = (version: number): Entry => ({
      version,
      state: { exists: true, username: 'u1', sessionVersion: version },
    });
    const { lookup, catchUps } = lookupOver({ 'user/u1': user(1) }, { 'user/u1': user(3) });
    expect(await lookup.userAt('u1', 3)).toMatchObject({ sessionVersion: 3 });
    expect(catchUps).toEqual([ACKNOWLEDGED_WRITES]);
  });

  it('finds a store registered through another instance a moment ago; an unknown one after one wait', async () => {
    const { lookup, catchUps } = lookupOver({}, { 'store/s1': { version: 1, state: { exists: true } } });
    expect(await lookup.storeExists('s1')).toBe(true);
    expect(await lookup.storeExists('s2')).toBe(false);
    expect(catchUps).toEqual([ACKNOWLEDGED_WRITES, ACKNOWLEDGED_WRITES]);
  });
});
