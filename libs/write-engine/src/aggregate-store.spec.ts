import type { CommunicationState, RegionState, StoreState } from '@lastmeter/domain';
import { AggregateStore } from './aggregate-store';
import type { TerminalState, UserState } from '@lastmeter/domain';
import { MemorySnapshotStore } from './snapshot-store';
import { EDITOR, eventOf, NOW } from './testing';

const CONTENT = {
  kind: 'notice',
  title: 'Opening hours',
  body: 'b',
  priority: 'normal',
  audience: { all: true },
} as const;

/** A communication drafted, approved and published by one command each, in partition 2. */
function published(store: AggregateStore, id = 'comm-1') {
  const history = [
    eventOf('communication.drafted', { ...CONTENT, revision: 1 }, { aggregateId: id, version: 1, actor: EDITOR }),
    eventOf('communication.approved', { selfApproved: true }, { aggregateId: id, version: 2, commandId: 'publish' }),
    eventOf('communication.published', { revision: 1 }, { aggregateId: id, version: 3, commandId: 'publish' }),
  ];
  for (const event of history) store.apply(event, 2);
  return history;
}

describe('AggregateStore', () => {
  it('rebuilds an aggregate from its history, then evolves it with the next event', () => {
    const store = new AggregateStore();
    published(store);
    const rebuilt = store.get('communication', 'comm-1');
    expect(rebuilt).toMatchObject({ version: 3, partition: 2 });
    expect(rebuilt.state as CommunicationState).toMatchObject({ exists: true, status: 'published', revision: 1 });

    const retracted = eventOf('communication.retracted', { reason: 'typo' }, { aggregateId: 'comm-1', version: 4 });
    expect(store.apply(retracted, 2)).toBe(true);
    expect(store.get('communication', 'comm-1').version).toBe(4);
    expect((store.get('communication', 'comm-1').state as CommunicationState).status).toBe('retracted');
  });

  it('remembers each finished command with the outcome a replay answers (201 for a creation, 200 after)', () => {
    const store = new AggregateStore();
    const [drafted, approved, publishedEvent] = published(store);
    expect(store.record(drafted!.commandId)?.outcome).toEqual({
      ok: true,
      status: 201,
      body: { id: 'comm-1', version: 1, eventIds: [drafted!.id] },
    });
    // Two events of one command make one outcome, at the version of the last.
    expect(store.record('publish')?.outcome).toEqual({
      ok: true,
      status: 200,
      body: { id: 'comm-1', version: 3, eventIds: [approved!.id, publishedEvent!.id] },
    });
  });

  it('ignores an event it already applied (the tail re-reading the decider own appends)', () => {
    const store = new AggregateStore();
    const seen: string[] = [];
    store.onApplied((event) => seen.push(event.type));
    const history = published(store);
    expect(store.apply(history[1]!, 2)).toBe(false);
    expect(store.get('communication', 'comm-1').version).toBe(3);
    expect(seen).toEqual(['communication.drafted', 'communication.approved', 'communication.published']);
  });

  it('refuses a gap in an aggregate history', () => {
    const store = new AggregateStore();
    const skipped = eventOf('region.defined', { code: 'N', name: 'North' }, { aggregateId: 'north', version: 2 });
    expect(() => store.apply(skipped, 0)).toThrow('gap in region/north: at version 0, got 2');
  });

  it('answers an empty aggregate (version 0, initial state) for an unknown id', () => {
    const entry = new AggregateStore().get('store', 'nowhere', 5);
    expect(entry).toMatchObject({ type: 'store', id: 'nowhere', version: 0, partition: 5 });
    expect((entry.state as StoreState).exists).toBe(false);
  });

  it('keeps staged changes in the view until they are applied to the store', () => {
    const store = new AggregateStore();
    const view = store.stage();
    view.apply(eventOf('region.defined', { code: 'N', name: 'North' }, { aggregateId: 'north', version: 1 }), 0);
    expect((view.get('region', 'north').state as RegionState).exists).toBe(true);
    expect(store.get('region', 'north').version).toBe(0);

    const misses: string[] = [];
    const directory = view.directory(misses);
    expect(directory.regionExists('north')).toBe(true);
    expect(directory.storeExists('store-9')).toBe(false);
    expect(misses).toEqual(['store/store-9']);
  });

  it('indexes users by lower-cased username and lists aggregates by partition and type', async () => {
    const store = new AggregateStore();
    store.apply(
      eventOf('user.created', { username: 'Maria', role: 'hq-editor' }, { aggregateId: 'u1', version: 1 }),
      1,
    );
    const registered = { code: 'S1', name: 'One', regionId: 'north', tags: [], locale: 'en', timezone: 'UTC' };
    store.apply(eventOf('store.registered', registered, { aggregateId: 's1', version: 1 }), 1);
    store.apply(eventOf('store.registered', { ...registered, code: 'S2' }, { aggregateId: 's2', version: 1 }), 3);

    expect(await store.userIdByName('maria')).toBe('u1');
    expect(await store.userIdByName('nobody')).toBeUndefined();
    expect([...store.inPartition(1, 'store')].map((entry) => entry.id)).toEqual(['s1']);
    expect([...store.statesOf<StoreState>('store')].map((state) => state.code)).toEqual(['S1', 'S2']);
  });

  it('resolves an audience to the stores of one partition from its indexes, following moves and tag changes', () => {
    const store = new AggregateStore();
    const register = (id: string, regionId: string, tags: string[], partition: number) =>
      store.apply(
        eventOf(
          'store.registered',
          { code: id, name: id, regionId, tags, locale: 'en', timezone: 'UTC' },
          { aggregateId: id, version: 1 },
        ),
        partition,
      );
    register('s1', 'north', ['mall'], 1);
    register('s2', 'south', ['city'], 1);
    register('s3', 'north', ['city'], 2);
    const ids = (audience: Parameters<AggregateStore['storesTargetedBy']>[0], partition = 1) =>
      [...store.storesTargetedBy(audience, partition)].map((entry) => entry.id).sort();

    expect(ids({ all: true })).toEqual(['s1', 's2']);
    expect(ids({ regionIds: ['north'] })).toEqual(['s1']);
    expect(ids({ regionIds: ['north'] }, 2)).toEqual(['s3']);
    expect(ids({ tags: ['city'] })).toEqual(['s2']);
    expect(ids({ storeIds: ['s3', 's2', 'ghost'] })).toEqual(['s2']);
    expect(ids({ regionIds: ['north'], tags: ['city'], storeIds: ['s1'] })).toEqual(['s1', 's2']);

    // s1 moves south and trades its tag: the indexes follow.
    store.apply(
      eventOf('store.updated', { regionId: 'south', tags: ['outlet'] }, { aggregateId: 's1', version: 2 }),
      1,
    );
    expect((store.get('store', 's1').state as StoreState).regionId).toBe('south');
    expect(ids({ regionIds: ['north'] })).toEqual([]);
    expect(ids({ regionIds: ['south'] })).toEqual(['s1', 's2']);
    expect(ids({ tags: ['mall'] })).toEqual([]);
    expect(ids({ tags: ['outlet'] })).toEqual(['s1']);
  });

  describe('bounded (snapshots on)', () => {
    const HOUR = 3_600_000;
    const terminal = (id: string, version = 1) =>
      eventOf(
        'terminal.registered',
        { storeId: 's1', name: `Till ${id}`, roles: ['cashier'], enrollmentExpiresAt: NOW.toISOString() },
        { aggregateId: id, version },
      );
    const setUp = (options: { cacheSize?: number; now?: number } = {}) => {
      const snapshots = new MemorySnapshotStore();
      let now = options.now ?? NOW.getTime();
      const store = new AggregateStore({
        snapshots,
        cacheSize: options.cacheSize ?? 2,
        recordCacheSize: 2,
        idempotencyWindowMs: 24 * HOUR,
        now: () => now,
      });
      return { snapshots, store, later: (ms: number) => (now += ms) };
    };

    it('keeps at most cacheSize terminals in memory after a flush; the others come back from snapshots', async () => {
      const { snapshots, store } = setUp({ cacheSize: 2 });
      const ids = ['t1', 't2', 't3', 't4'];
      await store.load(ids.map((id) => ['terminal', id] as const));
      for (const id of ids) store.apply(terminal(id), 4);
      await store.flush(new Map([[4, 17]]));

      expect(store.sizes()).toMatchObject({ cached: 2, dirty: 0 });
      expect(snapshots.offsets.get(4)).toBe(17);
      expect([...snapshots.aggregates.keys()].sort()).toEqual(ids.map((id) => `terminal/${id}`));
      // The least recently used are gone from memory: reading one needs a load.
      expect(() => store.get('terminal', 't1')).toThrow('terminal/t1 is not in memory: load it first');
      await store.load([['terminal', 't1']]);
      expect(store.get('terminal', 't1')).toMatchObject({ version: 1, partition: 4 });
      expect((store.get('terminal', 't1').state as TerminalState).name).toBe('Till t1');
      // Regions, stores and communications stay resident.
      published(store);
      await store.flush(new Map());
      expect(store.get('communication', 'comm-1').version).toBe(3);
    });

    it('never evicts what a decision in flight holds, nor what changed since the last flush', async () => {
      const { store } = setUp({ cacheSize: 1 });
      await store.load([
        ['terminal', 't1'],
        ['terminal', 't2'],
        ['terminal', 't3'],
      ]);
      const release = store.pin([['terminal', 't1']]);
      store.apply(terminal('t2'), 0);
      await store.flush(new Map());
      // t3 (clean, unpinned) is evicted first; t1 is pinned; t2 was flushed and is the most recent.
      expect(() => store.get('terminal', 't3')).toThrow('not in memory');
      expect(store.get('terminal', 't1').version).toBe(0);
      release();
      await store.flush(new Map());
      expect(store.sizes().cached).toBe(1);
    });

    it('restores resident aggregates and the indexes from the snapshots, and answers the checkpoints', async () => {
      const { snapshots, store } = setUp();
      published(store);
      await store.load([['user', 'u1']]);
      store.apply(
        eventOf('user.created', { username: 'Maria', role: 'hq-editor' }, { aggregateId: 'u1', version: 1 }),
        1,
      );
      await store.load([['terminal', 't1']]);
      store.apply(terminal('t1'), 0);
      await store.flush(new Map([[2, 3]]));

      const restarted = new AggregateStore({ snapshots, cacheSize: 2 });
      expect(await restarted.restore()).toEqual(new Map([[2, 3]]));
      expect(restarted.get('communication', 'comm-1').version).toBe(3);
      expect(await restarted.userIdByName('maria')).toBe('u1');
      expect(await restarted.terminalIdsOf('s1')).toEqual(['t1']);
      // Users and terminals are indexed, not held: they are loaded when needed.
      expect(restarted.sizes().cached).toBe(0);
      await restarted.load([['user', 'u1']]);
      expect((restarted.get('user', 'u1').state as UserState).username).toBe('Maria');
      // Folding an event the snapshot already holds is a no-op (the tail re-reads past the checkpoint).
      await restarted.load([['terminal', 't1']]);
      expect(restarted.apply(terminal('t1'), 0)).toBe(false);
    });

    it('answers a replay of a finished command within the idempotency window, from memory or the snapshots', async () => {
      const { snapshots, store, later } = setUp();
      const [drafted] = published(store);
      await store.flush(new Map());
      // Two more commands push the first out of the in-memory records (recordCacheSize 2).
      store.apply(eventOf('communication.retracted', { reason: 'x' }, { aggregateId: 'comm-1', version: 4 }), 2);
      store.apply(
        eventOf('communication.expired', { expiresAt: NOW.toISOString() }, { aggregateId: 'comm-1', version: 5 }),
        2,
      );
      await store.flush(new Map());
      expect(store.record(drafted!.commandId)).toBeUndefined();
      await store.loadRecords([drafted!.commandId]);
      expect(store.record(drafted!.commandId)?.outcome).toMatchObject({ status: 201, body: { version: 1 } });
      expect(snapshots.records.get(drafted!.commandId)?.expiresAt).toBe(NOW.getTime() + 24 * HOUR);

      // Past the window the key is a new request.
      later(24 * HOUR);
      expect(store.record(drafted!.commandId)).toBeUndefined();
    });

    it('when the snapshots were lost, waits for their rebuild, holding flushes back, then loads', async () => {
      const { snapshots, store } = setUp({ cacheSize: 1 });
      await store.load([
        ['terminal', 't1'],
        ['terminal', 't2'],
      ]);
      store.apply(terminal('t1'), 0);
      store.apply(terminal('t2'), 0);
      await store.flush(new Map([[0, 2]]));
      expect(() => store.get('terminal', 't1')).toThrow('not in memory');

      const kept = new Map(snapshots.aggregates);
      snapshots.lost = true;
      snapshots.aggregates.clear();
      let rebuilds = 0;
      store.onSnapshotsLost(async () => {
        rebuilds++;
        // Meanwhile a flush is held back: nothing is written to the store being rebuilt.
        store.apply(eventOf('terminal.revoked', { storeId: 's1' }, { aggregateId: 't2', version: 2 }), 0);
        const saves = snapshots.saves;
        await store.flush(new Map([[0, 3]]));
        expect(snapshots.saves).toBe(saves);
        snapshots.lost = false;
        for (const [key, snapshot] of kept) snapshots.aggregates.set(key, snapshot);
      });
      await store.load([['terminal', 't1']]);
      expect(rebuilds).toBe(1);
      expect((store.get('terminal', 't1').state as TerminalState).name).toBe('Till t1');
      // Then what changed meanwhile is written, with the checkpoints.
      await store.flush(new Map([[0, 3]]));
      expect(snapshots.aggregates.get('terminal/t2')?.version).toBe(2);
      expect(snapshots.offsets.get(0)).toBe(3);
    });

    it('refuses to fold an event of a terminal that was not loaded (it would lose its history)', () => {
      const { store } = setUp();
      expect(() => store.apply(terminal('t9'), 0)).toThrow('terminal/t9 is not in memory: load it before applying');
    });
  });
});
