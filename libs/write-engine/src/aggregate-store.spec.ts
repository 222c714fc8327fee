import type { CommunicationState, RegionState, StoreState } from '@lastmeter/domain';
import { AggregateStore } from './aggregate-store';
import { EDITOR, eventOf } from './testing';

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
    const { commands } = store.get('communication', 'comm-1');
    expect(commands.get(drafted!.commandId)?.outcome).toEqual({
      ok: true,
      status: 201,
      body: { id: 'comm-1', version: 1, eventIds: [drafted!.id] },
    });
    // Two events of one command make one outcome, at the version of the last.
    expect(commands.get('publish')?.outcome).toEqual({
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

  it('indexes users by lower-cased username and lists aggregates by partition and type', () => {
    const store = new AggregateStore();
    store.apply(
      eventOf('user.created', { username: 'Maria', role: 'hq-editor' }, { aggregateId: 'u1', version: 1 }),
      1,
    );
    const registered = { code: 'S1', name: 'One', regionId: 'north', tags: [], locale: 'en', timezone: 'UTC' };
    store.apply(eventOf('store.registered', registered, { aggregateId: 's1', version: 1 }), 1);
    store.apply(eventOf('store.registered', { ...registered, code: 'S2' }, { aggregateId: 's2', version: 1 }), 3);

    expect(store.userIdByName('maria')).toBe('u1');
    expect(store.userIdByName('nobody')).toBeUndefined();
    expect([...store.inPartition(1)].map((entry) => entry.id)).toEqual(['u1', 's1']);
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
});
