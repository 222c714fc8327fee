import { Logger } from '@nestjs/common';
import type { Audience, DomainEvent, EventEnvelope, FeedAppended } from '@lastmeter/contracts';
import type { CommunicationState } from '@lastmeter/domain';
import { AggregateStore } from './aggregate-store';
import { FeedLedger } from './feed-ledger';
import { FeedSequencer } from './feed-sequencer';
import type { FeedChunk } from './ports';
import { EDITOR, FakeClock, FakeHistory, FakeWriterPool, eventOf, type FakeWriter } from './testing';
import { WriteMetrics } from './write-metrics';

const OWNED = 0;
const OTHER = 1;

/** One command instance's feed side: its view, ledger, writers and sequencer. */
class Instance {
  readonly store = new AggregateStore();
  readonly ledger = new FeedLedger();
  readonly writers = new FakeWriterPool();
  readonly history = new FakeHistory();
  readonly clock = new FakeClock();
  readonly sequencer: FeedSequencer;
  /** What the notifier was told committed, one list of chunks per transaction. */
  readonly notices: FeedChunk[][] = [];
  /** The trace contexts each notice carried. */
  readonly noticeTraces: string[][] = [];
  /** How many notices were sent when the last `decide`'s append resolved. */
  noticedAtCommit?: number;
  /** The feed partition whose chunks the notifier says it does not carry. */
  uncarried?: number;
  /** Every event the log holds, to replay into a restarted instance. */
  readonly log: Array<{ event: DomainEvent; partition: number }> = [];
  private readonly versions = new Map<string, number>();

  /** `feedInDecision`: COMMAND_FEED_IN_DECISION (on here unless a test says otherwise). */
  constructor(feedInDecision = true) {
    this.sequencer = new FeedSequencer(
      this.store,
      this.ledger,
      this.writers,
      this.history,
      WriteMetrics.none(),
      this.clock,
      feedInDecision,
      {
        // Carries every chunk but those of partition `uncarried` (a notice over its bound).
        prepare: (chunks, traces = []) => ({
          carried: chunks.map((chunk) => chunk.partition !== this.uncarried),
          send: () => {
            this.notices.push(chunks);
            this.noticeTraces.push(traces);
          },
        }),
      },
    );
    this.sequencer.onApplicationBootstrap();
  }

  /** Appends an event as the decider would (and the tail then reads it). */
  append<T extends Parameters<typeof eventOf>[0]>(
    type: T,
    id: string,
    data: Parameters<typeof eventOf<T>>[1],
    partition: number,
  ) {
    const version = (this.versions.get(id) ?? 0) + 1;
    this.versions.set(id, version);
    const event = eventOf(type, data, { aggregateId: id, version, actor: EDITOR }) as DomainEvent;
    this.log.push({ event, partition });
    this.store.apply(event, partition);
  }

  registerStore(id: string, partition: number, tags: string[] = []) {
    this.append(
      'store.registered',
      id,
      { code: id, name: id, regionId: 'north', tags, locale: 'en', timezone: 'UTC' },
      partition,
    );
  }

  publish(id: string, audience: Audience, partition = 2) {
    const content = { kind: 'notice', title: id, body: 'b', priority: 'normal', audience } as const;
    this.append('communication.drafted', id, { ...content, revision: 1 }, partition);
    this.append('communication.approved', id, { selfApproved: true }, partition);
    this.append('communication.published', id, { revision: 1 }, partition);
  }

  /**
   * Decides events as the PartitionDecider would: staged, then appended through the
   * writer of `partition` inside withinDecision (feed entries and member with them), and
   * applied once appended. Resolves with what the transaction carried.
   */
  async decide(
    drafts: Array<{ type: 'communication.published' | 'communication.retracted'; id: string; data: object }>,
    partition = 2,
    trace?: Record<string, string>,
  ) {
    const view = this.store.stage();
    const events = drafts.map(({ type, id, data }) => {
      const version = view.get('communication', id, partition).version + 1;
      const event = eventOf(type, data as never, { aggregateId: id, version, actor: EDITOR }) as DomainEvent;
      view.apply(event, partition);
      return event;
    });
    const changed = [...new Set(drafts.map(({ id }) => id))].map((id) => {
      const { state, version } = view.get('communication', id, partition);
      return { state: state as CommunicationState, version };
    });
    const writer = await this.writers.writerFor(partition);
    return writer.serialize(() =>
      this.sequencer.withinDecision(
        changed,
        async (feed, member, committed) => {
          await writer.append({ events, commandOffset: '1', feed, member, committed });
          this.noticedAtCommit = this.notices.length;
          for (const event of events) {
            this.log.push({ event, partition });
            this.store.apply(event, partition);
            this.versions.set(event.aggregateId, event.aggregateVersion);
          }
          return { feed, member };
        },
        trace,
      ),
    );
  }

  /** Reads what another instance appended, as this instance's tail would: events into the store, the feed into the ledger. */
  readLogOf(other: Instance, feed: EventEnvelope[]) {
    for (const { event, partition } of other.log) {
      this.store.apply(event, partition);
      this.log.push({ event, partition });
      this.versions.set(event.aggregateId, event.aggregateVersion);
    }
    for (const envelope of feed) this.ledger.apply(envelope.data as FeedAppended);
  }

  /** Runs the sequencer until nothing is left to do. */
  async settle() {
    await new Promise((resolve) => setTimeout(resolve, 10));
    await this.sequencer.pass();
  }
}

/** The feed entries appended through `writer`, as `storeId → [feedSeq, change, communication id]`. */
function feedsOf(writer: FakeWriter) {
  const feeds: Record<string, Array<[number, string, string]>> = {};
  for (const envelope of writer.feed()) {
    const entry = envelope.data as FeedAppended;
    expect(envelope).toMatchObject({
      type: 'feed.appended',
      aggregateId: entry.storeId,
      aggregateVersion: entry.feedSeq,
    });
    (feeds[entry.storeId] ??= []).push([entry.feedSeq, entry.change, entry.communication.id]);
  }
  return feeds;
}

describe('FeedSequencer', () => {
  const instances: Instance[] = [];
  const start = (feedInDecision = true) => {
    const instance = new Instance(feedInDecision);
    instances.push(instance);
    return instance;
  };

  afterEach(async () => {
    for (const instance of instances.splice(0)) await instance.sequencer.onApplicationShutdown();
  });

  it('numbers each store feed gap-free, for the stores of the partitions it owns', async () => {
    const a = start();
    const writer = a.writers.own(OWNED);
    a.registerStore('s1', OWNED, ['city']);
    a.registerStore('s2', OWNED);
    a.registerStore('s3', OTHER);
    a.publish('c1', { all: true });
    await a.settle();
    a.publish('c2', { tags: ['city'] }, 3);
    await a.settle();
    a.append('communication.revised', 'c1', { revision: 2, changes: { title: 'c1, revised' } }, 2);
    a.append('communication.retracted', 'c2', { reason: 'wrong' }, 3);
    await a.settle();

    expect(feedsOf(writer)).toEqual({
      s1: [
        [1, 'published', 'c1'],
        [2, 'published', 'c2'],
        [3, 'revised', 'c1'],
        [4, 'retracted', 'c2'],
      ],
      s2: [
        [1, 'published', 'c1'],
        [2, 'revised', 'c1'],
      ],
    });
    expect(a.ledger.of('s1').head).toBe(4);
    expect(a.ledger.of('s3').head).toBe(0);
  });

  it('holds a next-brief item until the store opens, then appends it with that opening’s brief', async () => {
    const a = start();
    const writer = a.writers.own(OWNED);
    // Monday 23 November 2026, 09:00 UTC = 10:00 in Paris: open; the next opening is Tuesday 09:00 (08:00 UTC).
    a.append(
      'store.registered',
      'paris',
      {
        code: 'paris',
        name: 'Paris',
        regionId: 'north',
        tags: [],
        locale: 'fr-FR',
        timezone: 'Europe/Paris',
        openingHours: { mon: ['09:00', '19:00'], tue: ['09:00', '19:00'] },
      },
      OWNED,
    );
    const content = { kind: 'notice', title: 'brief', body: 'b', priority: 'normal', audience: { all: true } } as const;
    a.append('communication.drafted', 'c1', { ...content, delivery: 'next-brief', revision: 1 }, 2);
    a.append('communication.approved', 'c1', { selfApproved: true }, 2);
    a.append('communication.published', 'c1', { revision: 1 }, 2);
    await a.settle();
    expect(feedsOf(writer)).toEqual({});
    expect(a.sequencer.storesAwaitingBrief).toBe(1);

    a.clock.current = new Date('2026-11-24T07:59:59Z');
    expect(a.sequencer.wakeDueBriefs()).toBe(0);
    a.clock.current = new Date('2026-11-24T08:00:01Z');
    expect(a.sequencer.wakeDueBriefs()).toBe(1);
    await a.settle();
    expect(feedsOf(writer)).toEqual({ paris: [[1, 'published', 'c1']] });
    expect((writer.feed()[0]!.data as FeedAppended).brief).toEqual({
      at: '2026-11-24T08:00:00.000Z',
      date: '2026-11-24',
    });
    expect(a.sequencer.storesAwaitingBrief).toBe(0);
  });

  it('gives a store registered after a publish the communications live for it', async () => {
    const a = start();
    const writer = a.writers.own(OWNED);
    a.publish('c1', { all: true });
    await a.settle();
    a.registerStore('late', OWNED);
    await a.settle();
    expect(feedsOf(writer)).toEqual({ late: [[1, 'published', 'c1']] });
  });

  it('plans only the changed stores when no communication changed (a bulk import does not walk every store)', async () => {
    const a = start();
    const writer = a.writers.own(OWNED);
    for (let i = 0; i < 50; i++) a.registerStore(`old-${i}`, OWNED);
    a.publish('c1', { all: true });
    await a.settle();
    const planned = jest.spyOn(a.ledger, 'of');
    a.registerStore('new-1', OWNED);
    a.registerStore('new-2', OTHER);
    a.append('store.updated', 'old-3', { tags: ['moved'] }, OWNED);
    await a.settle();
    expect(new Set(planned.mock.calls.map(([storeId]) => storeId))).toEqual(new Set(['new-1', 'old-3']));
    expect(feedsOf(writer)['new-1']).toEqual([[1, 'published', 'c1']]);
    expect(feedsOf(writer)['old-3']).toEqual([[1, 'published', 'c1']]);
    planned.mockRestore();
  });

  it('plans a publish for the stores its audience reaches and those showing it, from the indexes, not every store', async () => {
    const a = start();
    const writer = a.writers.own(OWNED);
    for (let i = 0; i < 50; i++) a.registerStore(`other-${i}`, OWNED);
    a.registerStore('tagged', OWNED, ['city']);
    a.registerStore('named', OWNED);
    await a.settle();
    const planned = jest.spyOn(a.ledger, 'of');
    a.publish('c1', { tags: ['city'], storeIds: ['named'] });
    await a.settle();
    expect(new Set(planned.mock.calls.map(([storeId]) => storeId))).toEqual(new Set(['tagged', 'named']));
    planned.mockClear();
    // Narrowed on revision: the store it no longer reaches is visited (it shows it) and retracted.
    a.append('communication.revised', 'c1', { revision: 2, changes: { audience: { storeIds: ['named'] } } }, 2);
    await a.settle();
    expect(new Set(planned.mock.calls.map(([storeId]) => storeId))).toEqual(new Set(['tagged', 'named']));
    expect(feedsOf(writer)).toEqual({
      tagged: [
        [1, 'published', 'c1'],
        [2, 'retracted', 'c1'],
      ],
      named: [
        [1, 'published', 'c1'],
        [2, 'revised', 'c1'],
      ],
    });
    expect([...a.ledger.holders('c1')]).toEqual(['named']);
    planned.mockRestore();
  });

  it('continues each store feed after a restart from the ledger, without appending anything twice', async () => {
    const before = start();
    const firstWriter = before.writers.own(OWNED);
    before.registerStore('s1', OWNED);
    before.publish('c1', { all: true });
    before.publish('c2', { all: true });
    await before.settle();
    expect(feedsOf(firstWriter).s1!.map(([feedSeq]) => feedSeq)).toEqual([1, 2]);

    // A new instance reads the log...
    const after = start();
    after.readLogOf(before, firstWriter.feed());
    // ...and, owning the partition, catches it up and replans all its stores: nothing is missing.
    const writer = after.writers.own(OWNED);
    await after.settle();
    expect(after.history.catchUps).toEqual([[OWNED]]);
    expect(writer.appended).toEqual([]);

    after.publish('c3', { all: true });
    await after.settle();
    expect(feedsOf(writer)).toEqual({ s1: [[3, 'published', 'c3']] });
  });

  it('replans a partition whose append failed, from the ledger, so no feedSeq is lost or reused', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const a = start();
    const writer = a.writers.own(OWNED);
    a.registerStore('s1', OWNED);
    await a.settle();
    expect(a.history.catchUps).toEqual([[OWNED]]);

    writer.failure = new Error('transaction timed out');
    a.publish('c1', { all: true });
    await a.settle();
    expect(warn).toHaveBeenCalledWith(`feed of partition ${OWNED} not sequenced yet: transaction timed out`);
    // The retry read the partition to its end first, then planned from the ledger again.
    expect(a.history.catchUps).toEqual([[OWNED], [OWNED]]);
    expect(feedsOf(writer)).toEqual({ s1: [[1, 'published', 'c1']] });
    warn.mockRestore();
  });

  it('gives the same entry the same id, whoever appends it', async () => {
    const a = start();
    const b = start();
    for (const instance of [a, b]) {
      instance.writers.own(OWNED);
      instance.registerStore('s1', OWNED);
      instance.publish('c1', { all: true });
      await instance.settle();
    }
    const idOf = (instance: Instance) => instance.writers.writers.get(OWNED)!.feed()[0]!.id;
    expect(idOf(a)).toBe(idOf(b));
  });

  describe('withinDecision (the feed in the decision)', () => {
    const MEMBER = { generationId: 7, memberId: 'member-a' };
    const DECIDING = 2;
    /** An instance owning OWNED, OTHER and the deciding partition, joined as MEMBER, with a draft c1 to all. */
    const joined = async (feedInDecision = true) => {
      const a = start(feedInDecision);
      a.writers.joined = MEMBER;
      const writers = [a.writers.own(OWNED), a.writers.own(OTHER), a.writers.own(DECIDING)] as const;
      a.registerStore('s1', OWNED);
      a.registerStore('s2', OWNED);
      a.registerStore('s3', OTHER);
      const content = { kind: 'notice', title: 'c1', body: 'b', priority: 'normal', audience: { all: true } } as const;
      a.append('communication.drafted', 'c1', { ...content, revision: 1 }, DECIDING);
      a.append('communication.approved', 'c1', { selfApproved: true }, DECIDING);
      await a.settle();
      return { a, writers };
    };
    /** The chunks of a change to c1 that every store of `joined` gets, at `feedSeq`. */
    const everyStore = (feedSeq: number) => [
      {
        partition: OWNED,
        entries: [
          ['s1', feedSeq],
          ['s2', feedSeq],
        ],
      },
      { partition: OTHER, entries: [['s3', feedSeq]] },
    ];
    /** Publishing c1 carries no feed and no member; the passes then give every store c1. */
    const expectLeftToThePasses = async (a: Instance, writers: readonly FakeWriter[]) => {
      const carried = await a.decide([{ type: 'communication.published', id: 'c1', data: { revision: 1 } }]);
      expect(carried).toEqual({ feed: [], member: undefined });
      await a.settle();
      expect(feedsOf(writers[0]!)).toEqual({ s1: [[1, 'published', 'c1']], s2: [[1, 'published', 'c1']] });
      expect(feedsOf(writers[1]!)).toEqual({ s3: [[1, 'published', 'c1']] });
    };
    const about = (chunks: Array<{ partition: number; entries: EventEnvelope[] }>) =>
      chunks.map(({ partition, entries }) => ({
        partition,
        entries: entries.map(({ data }) => [(data as FeedAppended).storeId, (data as FeedAppended).feedSeq]),
      }));

    it('puts the entries of every owned partition in the decision transaction, with the member, and leaves the passes nothing', async () => {
      const { a, writers } = await joined();
      const [owned, other, deciding] = writers;
      const carried = await a.decide([{ type: 'communication.published', id: 'c1', data: { revision: 1 } }]);
      expect(carried.member).toEqual(MEMBER);
      expect(about(carried.feed)).toEqual(everyStore(1));
      // One transaction, on the deciding partition's writer: events, offset, feed, member.
      expect(deciding.appended).toHaveLength(1);
      expect(deciding.appended[0]).toMatchObject({ commandOffset: '1', member: MEMBER });
      expect(deciding.appended[0]!.events!.map((e) => e.type)).toEqual(['communication.published']);
      expect(a.ledger.of('s1').head).toBe(1);
      expect(a.ledger.of('s3').head).toBe(1);
      // The pass the applied event scheduled finds everything done.
      await a.settle();
      expect(owned.appended).toEqual([]);
      expect(other.appended).toEqual([]);

      // The next change numbers on from the ledger the decision updated.
      const retracted = await a.decide([{ type: 'communication.retracted', id: 'c1', data: { reason: 'wrong' } }]);
      expect(about(retracted.feed)).toEqual(everyStore(2));
    });

    it("gives the notice on commit the decision's trace context, the one its feed records carry", async () => {
      const { a } = await joined();
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const carried = await a.decide([{ type: 'communication.published', id: 'c1', data: { revision: 1 } }], 2, {
        traceparent,
      });
      expect(carried.feed.length).toBeGreaterThan(0);
      expect(a.notices.at(-1)).toEqual(carried.feed);
      expect(a.noticeTraces.at(-1)).toEqual([traceparent]);
    });

    it('marks a transaction’s chunks noticed before they are appended when the notice carries them all, in a decision and in a pass', async () => {
      const { a, writers } = await joined();
      const [owned, other] = writers;
      const published = await a.decide([{ type: 'communication.published', id: 'c1', data: { revision: 1 } }]);
      expect(published.feed.map(({ partition, noticed }) => [partition, noticed])).toEqual([
        [OWNED, true],
        [OTHER, true],
      ]);
      // From now on the notice does not carry OTHER's chunks (over its bound).
      a.uncarried = OTHER;
      // The passes' own feed transactions, one per partition: each marked on its own.
      a.registerStore('s4', OWNED);
      a.registerStore('s5', OTHER);
      await a.settle();
      expect(owned.appended.at(-1)!.feed!.map(({ noticed }) => noticed)).toEqual([true]);
      expect(other.appended.at(-1)!.feed!.map(({ noticed }) => noticed)).toEqual([undefined]);
      // A decision the notice carries only in part: none of its chunks is marked.
      const retracted = await a.decide([{ type: 'communication.retracted', id: 'c1', data: { reason: 'wrong' } }]);
      expect(retracted.feed.map(({ partition, noticed }) => [partition, noticed])).toEqual([
        [OWNED, undefined],
        [OTHER, undefined],
      ]);
    });

    it('tells the notifier of each feed transaction once it committed, whoever appended it, and never of one that failed', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const { a, writers } = await joined();
      const [owned, , deciding] = writers;
      a.notices.length = 0;
      const carried = await a.decide([{ type: 'communication.published', id: 'c1', data: { revision: 1 } }]);
      expect(a.notices).toEqual([carried.feed]);
      // Sent by the commit itself, before the decision applies its events and the ledger.
      expect(a.noticedAtCommit).toBe(1);

      // A decision whose transaction failed: nothing is announced.
      deciding.failure = new Error('commit answer lost');
      await expect(
        a.decide([{ type: 'communication.retracted', id: 'c1', data: { reason: 'wrong' } }]),
      ).rejects.toThrow('commit answer lost');
      expect(a.notices).toHaveLength(1);

      // A pass's own feed transaction (a store registered later): not announced when it
      // fails, announced once the pass run again (settle's) committed it.
      deciding.failure = undefined;
      owned.failure = new Error('transaction timed out');
      a.registerStore('s4', OWNED);
      await a.settle();
      expect(warn).toHaveBeenCalledWith(`feed of partition ${OWNED} not sequenced yet: transaction timed out`);
      expect(a.notices).toHaveLength(2);
      expect(about(a.notices[1]!)).toEqual([{ partition: OWNED, entries: [['s4', 1]] }]);
      expect(a.notices[1]![0]!.entries).toEqual(owned.feed().slice(-1));
      warn.mockRestore();
    });

    it('leaves its entries to the next pass while a feed transaction runs (under load, the passes batch)', async () => {
      const { a, writers } = await joined();
      const [owned, other] = writers;
      let release!: () => void;
      const running = owned.feedLane.serialize(() => new Promise<void>((resolve) => (release = resolve)));
      const carried = await a.decide([{ type: 'communication.published', id: 'c1', data: { revision: 1 } }]);
      expect(carried).toEqual({ feed: [], member: undefined });
      release();
      await running;
      await a.settle();
      expect(feedsOf(owned)).toEqual({ s1: [[1, 'published', 'c1']], s2: [[1, 'published', 'c1']] });
      expect(feedsOf(other)).toEqual({ s3: [[1, 'published', 'c1']] });
    });

    it('carries no feed when COMMAND_FEED_IN_DECISION is off: the passes sequence it', async () => {
      const { a, writers } = await joined(false);
      await expectLeftToThePasses(a, writers);
    });

    it('carries no feed and no member before the group is joined: the passes sequence it as before', async () => {
      const { a, writers } = await joined();
      a.writers.joined = undefined;
      await expectLeftToThePasses(a, writers);
    });

    it('leaves a partition whose decision failed to a pass that reads it to its high watermark, then plans there again', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const { a, writers } = await joined();
      const [owned, other, deciding] = writers;
      a.history.catchUps.length = 0;
      deciding.failure = new Error('commit answer lost');
      await expect(a.decide([{ type: 'communication.published', id: 'c1', data: { revision: 1 } }])).rejects.toThrow(
        'commit answer lost',
      );
      expect(a.ledger.of('s1').head).toBe(0);

      // The retried decision (the version is the one the failed decision staged) plans
      // only where the ledger is sure; a pass reads the others again and sequences them.
      const retried = await a.decide([{ type: 'communication.published', id: 'c1', data: { revision: 1 } }]);
      expect(retried.feed).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 600));
      await a.sequencer.pass();
      expect(a.history.catchUps).toEqual(expect.arrayContaining([[OWNED], [OTHER]]));
      expect(feedsOf(owned)).toEqual({ s1: [[1, 'published', 'c1']], s2: [[1, 'published', 'c1']] });
      expect(feedsOf(other)).toEqual({ s3: [[1, 'published', 'c1']] });

      const retracted = await a.decide([{ type: 'communication.retracted', id: 'c1', data: { reason: 'wrong' } }]);
      expect(about(retracted.feed)).toEqual(everyStore(2));
      warn.mockRestore();
    });

    it('reads a partition again before a pass that waited for its lock plans there, when the decision holding it failed', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const { a, writers } = await joined();
      const [owned, other, deciding] = writers;
      // The tail: a catch-up reads what the log holds (the decision did commit) into the ledger.
      a.history.onCatchUp = () => {
        for (const envelope of deciding.feed()) a.ledger.apply(envelope.data as FeedAppended);
      };
      let commit!: () => void;
      deciding.gate = new Promise<void>((resolve) => (commit = resolve));
      deciding.lostAnswer = new Error('commit answer lost');
      const decided = a.decide([{ type: 'communication.published', id: 'c1', data: { revision: 1 } }]);
      await new Promise((resolve) => setTimeout(resolve, 10));
      // Meanwhile the tail reads the decision's events (committed, whatever the answer), and
      // a pass starts for c1 and waits for the feed locks the decision holds.
      const published = a.log.length;
      a.append('communication.published', 'c1', { revision: 1 }, DECIDING);
      expect(a.log).toHaveLength(published + 1);
      const pass = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        await a.sequencer.pass();
      })();
      await new Promise((resolve) => setTimeout(resolve, 20));
      commit();
      await expect(decided).rejects.toThrow('commit answer lost');
      await pass;
      await a.settle();
      // Each store has c1 once: the decision's entry, not a second one from the pass.
      expect(about([{ partition: OWNED, entries: deciding.feed() }])).toEqual([
        {
          partition: OWNED,
          entries: [
            ['s1', 1],
            ['s2', 1],
            ['s3', 1],
          ],
        },
      ]);
      expect(owned.appended).toEqual([]);
      expect(other.appended).toEqual([]);
      warn.mockRestore();
    });

    it('leaves a publish to more stores than a decision carries to the passes', async () => {
      const { a, writers } = await joined();
      for (let i = 0; i < 10_000; i++) a.registerStore(`many-${i}`, OWNED);
      await a.settle();
      const carried = await a.decide([{ type: 'communication.published', id: 'c1', data: { revision: 1 } }]);
      expect(carried.feed).toEqual([]);
      await a.settle();
      // 10,002 entries in OWNED, in transactions of at most 500 entries (at store boundaries).
      expect(writers[0].feed()).toHaveLength(10_002);
      expect(Math.max(...writers[0].appended.map((batch) => batch.feed![0]!.entries.length))).toBeLessThanOrEqual(500);
      expect(feedsOf(writers[1])).toEqual({ s3: [[1, 'published', 'c1']] });
    });
  });
});
