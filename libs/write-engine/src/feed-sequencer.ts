/** Feed sequencer: numbers every store's feed entries (feedSeq) on the write side. */
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { v5 as uuidv5 } from 'uuid';
import { feedEvent, type DomainEvent, type FeedAppended } from '@lastmeter/contracts';
import {
  planStoreFeed,
  type CommunicationState,
  type StoreState,
  type VersionedCommunication,
} from '@lastmeter/domain';
import type { AggregateEntry, AggregateStore } from './aggregate-store';
import { EventTail } from './event-tail';
import { FeedLedger } from './feed-ledger';
import { PartitionWriters } from './partition-writers';
import type {
  Clock,
  EventHistory,
  FeedChunk,
  FeedNotifier,
  GroupMember,
  PartitionWriterPool,
  TransactionalWriter,
} from './ports';
import { systemClock } from './ports';
import { AGGREGATE_STORE, CLOCK, FEED_IN_DECISION, FEED_NOTIFIER } from './write-engine.tokens';
import { contextOf, inSpan, linksTo, SpanKind, traceHeaders, traceOf, type TraceCarrier } from '@lastmeter/kafka';
import { WriteMetrics } from './write-metrics';

/** Namespace of feed entry ids: the same store and feedSeq always get the same id. */
const FEED_IDS = 'b5f2f7a4-6a53-4c55-9d43-2b6a3f0e8c11';
/** Bounds one transaction of a pass, and one record; a publish to every store of a large chain spans several. */
const MAX_ENTRIES_PER_TRANSACTION = 500;
/**
 * Bounds the feed entries a decision's transaction carries (withinDecision), a few
 * records of MAX_ENTRIES_PER_TRANSACTION per partition: a publish to more stores than
 * this leaves its entries to the passes, in transactions of their own.
 */
const MAX_ENTRIES_PER_DECISION = 10_000;
/**
 * A change is sequenced at the next turn of the event loop: every change applied in the
 * same turn (a decision's events, a tail batch) goes in one pass, and those arriving while
 * a pass runs go together in the next, so there is no need to wait (a 5 ms debounce was
 * 5 ms of every publish's latency).
 */
const DEBOUNCE_MS = 0;
const RETRY_MS = 500;
/** Trace contexts one pass continues (the first as parent, the others as links). */
const MAX_TRACES_PER_PASS = 16;
/** How often the sequencer looks for stores whose brief has come (the clock may jump in tests). */
const BRIEF_CHECK_MS = 1_000;

/** The changes of a communication that a decision's transaction sequences itself (withinDecision). */
export const COMMUNICATION_FEED_CHANGES: ReadonlySet<string> = new Set([
  'communication.published',
  'communication.revised',
  'communication.retracted',
  'communication.expired',
]);

const FEED_CHANGING = new Set([
  ...COMMUNICATION_FEED_CHANGES,
  'store.registered',
  'store.updated',
  'task.evidence-rejected',
]);

/**
 * Decides every store's feed (docs/design.md section 5), on the write side, so that feed
 * positions are facts in the log rather than an accident of projection order.
 *
 * Whoever owns partition p in the decider group is the only writer of feed partition p,
 * which holds the feeds of the stores whose aggregates live in events partition p. When
 * a communication or a store changes (in any partition, as the tail sees it), the owner
 * plans the entries that bring its stores' feeds in line with the communications as
 * they are now (`planStoreFeed`: level-triggered, so a store registered a moment after a
 * publish, in another partition, still gets it from whichever of the two changes is
 * sequenced second) and appends them, numbered from the ledger, in one transaction.
 * A new owner fences the old one, reads the feed partition to its end, and replans all
 * of its stores: nothing is lost in a crash and nothing is appended twice.
 *
 * The daily brief (issue 22): a plan that holds a next-brief item back for a store until
 * its opening says when that is; the sequencer keeps the earliest such time per store and
 * plans the store again once the clock has passed it. That is all the brief's state, and
 * it is rebuilt by the replan of every store when a partition is opened: a store whose
 * opening passed while no instance ran gets its brief on recovery, once, because the
 * entries then are in the feed partition the new owner read.
 */
@Injectable()
export class FeedSequencer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FeedSequencer.name);
  private readonly dirtyCommunications = new Set<string>();
  private readonly dirtyStores = new Set<string>();
  /** Partitions whose every store must be replanned (just opened, or a pass failed). */
  private readonly dirtyPartitions = new Set<number>();
  /**
   * Partitions whose last append failed, its outcome unknown (a lost commit answer): the
   * ledger may lack what it committed, so no decision plans there until a pass has read
   * the partition again and replanned it.
   */
  private readonly unsure = new Set<number>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  /** Trace contexts of the changes not yet taken by a pass (bounded): the pass continues them. */
  private pendingTraces: TraceCarrier[] = [];
  /** When the oldest change not yet taken by a pass arrived (ms). */
  private pendingSince?: number;
  /** When the oldest change of the running pass arrived (ms). */
  private inFlightSince?: number;
  /** Stores holding next-brief items back, and when the earliest is due (ms on the clock). */
  private readonly briefsDue = new Map<string, number>();
  private briefTimer?: NodeJS.Timeout;

  constructor(
    @Inject(AGGREGATE_STORE) private readonly store: AggregateStore,
    @Inject(FeedLedger) private readonly ledger: FeedLedger,
    @Inject(PartitionWriters) private readonly writers: PartitionWriterPool,
    @Inject(EventTail) private readonly history: EventHistory,
    @Optional() @Inject(WriteMetrics) private readonly metrics: WriteMetrics = WriteMetrics.none(),
    @Optional() @Inject(CLOCK) private readonly clock: Clock = systemClock,
    /** COMMAND_FEED_IN_DECISION (default on): off, withinDecision carries nothing and the passes sequence every change. */
    @Optional() @Inject(FEED_IN_DECISION) private readonly feedInDecision: boolean = true,
    /** Told of every feed transaction committed (COMMAND_FEED_NOTICE): gateways have the items before any projector. */
    @Optional() @Inject(FEED_NOTIFIER) private readonly notifier?: FeedNotifier,
  ) {
    this.metrics.watchSequencer(
      () => {
        const times = [this.pendingSince, this.inFlightSince].filter((t): t is number => t !== undefined);
        return times.length ? Math.min(...times) : undefined;
      },
      () => this.storesAwaitingBrief,
    );
  }

  onApplicationBootstrap(): void {
    this.store.onApplied((event) => this.changed(event));
    this.writers.onOpened((partition) => {
      this.dirtyPartitions.add(partition);
      this.schedule(0);
    });
    this.briefTimer = setInterval(() => this.wakeDueBriefs(), BRIEF_CHECK_MS);
  }

  /** Marks the stores whose brief has come (every BRIEF_CHECK_MS; tests call it); returns how many. */
  wakeDueBriefs(now = this.clock.now().getTime()): number {
    let woken = 0;
    for (const [storeId, at] of this.briefsDue) {
      if (at > now) continue;
      this.briefsDue.delete(storeId);
      this.dirtyStores.add(storeId);
      woken++;
    }
    if (woken > 0) {
      this.pendingSince ??= Date.now();
      this.schedule(0);
    }
    return woken;
  }

  /** How many stores hold items back for their next brief (a gauge for tests and metrics). */
  get storesAwaitingBrief(): number {
    return this.briefsDue.size;
  }

  private changed(event: DomainEvent): void {
    if (!FEED_CHANGING.has(event.type)) return;
    // A rejected evidence concerns one store's feed: plan that store, not the whole audience.
    if (event.type === 'task.evidence-rejected') this.dirtyStores.add(event.data.storeId);
    else if (event.aggregateType === 'store') this.dirtyStores.add(event.aggregateId);
    else this.dirtyCommunications.add(event.aggregateId);
    this.pendingSince ??= Date.now();
    const carrier = traceOf(event.id);
    if (carrier && this.pendingTraces.length < MAX_TRACES_PER_PASS) this.pendingTraces.push(carrier);
    this.schedule(DEBOUNCE_MS);
  }

  private schedule(delay: number): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pass();
    }, delay);
  }

  /** One sequencing pass over every owned partition (exposed for tests and shutdown). */
  async pass(): Promise<void> {
    if (this.running) {
      // Changes that arrive during a pass get a pass of their own afterwards.
      await this.running;
      return this.pass();
    }
    this.running = this.passOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async passOnce(): Promise<void> {
    const communications = [...this.dirtyCommunications];
    const stores = new Set(this.dirtyStores);
    const partitions = new Set(this.dirtyPartitions);
    this.dirtyCommunications.clear();
    this.dirtyStores.clear();
    this.dirtyPartitions.clear();
    const since = this.pendingSince;
    const traces = this.pendingTraces;
    this.pendingTraces = [];
    this.inFlightSince = since;
    this.pendingSince = undefined;
    let failed = false;
    // Partitions are independent (each has its own stores, ledger and transactional
    // writer), so their transactions run side by side: a publish to stores in every
    // partition costs one transaction's latency, not one per partition in turn.
    await Promise.all(
      this.writers.owned().map(async (partition) => {
        const everything = partitions.has(partition);
        if (!everything && communications.length === 0 && stores.size === 0) return;
        try {
          // A span per partition's pass: a child of the first change's trace, linked to the others.
          await inSpan(
            'sequence feed',
            {
              kind: SpanKind.PRODUCER,
              parent: contextOf(traces[0]),
              links: linksTo(traces.slice(1)),
              attributes: { 'lastmeter.partition': partition },
            },
            () => this.sequence(partition, everything, communications, stores),
          );
        } catch (error) {
          this.logger.warn(`feed of partition ${partition} not sequenced yet: ${(error as Error).message}`);
          failed = true;
          this.markUnsure(partition);
        }
      }),
    );
    this.inFlightSince = undefined;
    if (since === undefined) return;
    if (failed) this.pendingSince = Math.min(this.pendingSince ?? since, since);
    else this.metrics.feedSequenced((Date.now() - since) / 1000);
  }

  private async sequence(partition: number, everything: boolean, changed: string[], stores: Set<string>) {
    const writer = await this.writers.feedWriterFor(partition);
    await writer.serialize(async () => {
      // After a failed append the outcome may be unknown (a lost commit response): read the
      // partition to its high watermark first (its transactions open now ended), so
      // committed entries are never numbered again. Under the partition's lock, and also
      // when this pass was not asked to (`unsure`): a decision may have failed on it while
      // this pass waited for the lock, its entries committed but not in the ledger yet.
      if (everything || this.unsure.has(partition)) {
        await this.history.catchUp([partition], { toHighWatermark: ['feed'] });
      }
      // One view of each communication per pass, shared by every store's plan.
      const views = new Map<string, VersionedCommunication>();
      const communication = (id: string): VersionedCommunication => {
        let view = views.get(id);
        if (!view) {
          const entry = this.store.get('communication', id);
          view = { state: entry.state as CommunicationState, version: entry.version };
          views.set(id, view);
        }
        return view;
      };
      // The live communications by what their audience names, built once per pass when a
      // store must be planned against all of them: each store then meets only those that
      // may reach it (and those its feed holds), not every live communication.
      let live: LiveAudiences | undefined;
      const mayReach = (store: StoreState): Iterable<string> => {
        live ??= liveAudiences(this.store.statesOf<CommunicationState>('communication'));
        const ids = new Set(live.all);
        for (const id of live.byStore.get(store.id) ?? []) ids.add(id);
        for (const id of live.byRegion.get(store.regionId) ?? []) ids.add(id);
        for (const tag of store.tags) for (const id of live.byTag.get(tag) ?? []) ids.add(id);
        return ids;
      };
      let entries: FeedAppended[] = [];
      const flush = async () => {
        if (entries.length === 0) return;
        const feed: FeedChunk[] = [{ partition, entries: entries.map(envelopeOf) }];
        const feedTrace = traceHeaders();
        const notice = this.notice(feed, feedTrace);
        await writer.append({ feed, feedTrace, committed: notice });
        for (const entry of entries) this.ledger.apply(entry);
        // Sent when the transaction committed (the writer calls it), else now.
        notice();
        entries = [];
      };
      const changedViews = changed.map(communication);
      const now = this.clock.now();
      // Only stores that can have anything to plan: every store after a replan of the
      // partition; otherwise the changed stores, and for each changed communication the
      // stores its audience reaches (the store indexes, not a scan) and those whose feed
      // shows it live (the ledger's index). A bulk import of stores or a publish to five
      // stores does not walk the partition's 50,000 stores.
      const inScope = everything
        ? [...this.store.inPartition(partition, 'store')]
        : [...this.concerned(partition, changedViews, stores)];
      for (const { state } of inScope) {
        const store = state as StoreState;
        const feed = this.ledger.of(store.id);
        const whole = everything || stores.has(store.id);
        const candidates = whole
          ? [...new Set([...feed.items.keys(), ...mayReach(store)])].map(communication)
          : changedViews;
        // A plan of everything the store may get says afresh what it still waits for.
        if (whole) this.briefsDue.delete(store.id);
        entries.push(...planStoreFeed(store, candidates, feed, this.planning(store.id, now)));
        // A store's entries are numbered from its ledger head, so each store's plan is
        // committed before the ledger is read for the next chunk.
        if (entries.length >= MAX_ENTRIES_PER_TRANSACTION) await flush();
      }
      await flush();
      // Read again and replanned: decisions may plan here again.
      if (everything) this.unsure.delete(partition);
    });
  }

  private markUnsure(partition: number): void {
    this.unsure.add(partition);
    this.dirtyPartitions.add(partition);
    this.schedule(RETRY_MS);
  }

  /**
   * For the decider: runs `commit` with the feed entries that the `changed` communications
   * (as the decision leaves them, not committed yet) bring to the stores of the feed
   * partitions this instance owns, so that its transaction carries them and a publish is
   * one transaction, not a decision and then a feed transaction per partition
   * (docs/write-side.md, "The feed in the decision"). The entries are planned and
   * committed under those partitions' feed locks, taken in partition order (no two
   * decisions wait for each other), and are in the ledger once `commit` resolves.
   *
   * On unless COMMAND_FEED_IN_DECISION is false (see its description). Planned nothing, and
   * left to the passes: partitions whose last append failed
   * (`unsure`), and every partition when a feed transaction runs or waits on one of them,
   * when the plan exceeds MAX_ENTRIES_PER_DECISION or when no group member is known
   * (`commit` gets no member then, and carries no feed). When every
   * owned partition was planned, the passes have nothing left to do for `changed`.
   * `trace`: the trace context the decision gives its feed records (tracing on), which
   * the notice on commit carries too, so the gateways' emits continue the publish's trace.
   */
  async withinDecision<T>(
    changed: VersionedCommunication[],
    commit: (feed: FeedChunk[], member?: GroupMember, committed?: () => void) => Promise<T>,
    trace?: Record<string, string>,
  ): Promise<T> {
    // The member and the partitions it owns, read together (a rebalance changes both).
    const member = this.writers.member();
    const owned = this.writers.owned().sort((a, b) => a - b);
    if (!this.feedInDecision || changed.length === 0 || !member) return commit([]);
    const writers = await Promise.all(
      owned.filter((p) => !this.unsure.has(p)).map((p) => this.writers.feedWriterFor(p).catch(() => undefined)),
    );
    const ready = writers.filter((writer): writer is TransactionalWriter => writer !== undefined);
    // Under load, the passes batch: while a feed transaction (a pass's or another
    // decision's) runs or waits, this decision's entries go in the next pass with those of
    // every decision meanwhile, a record per partition for all of them, rather than
    // queueing a transaction of their own behind it. A publish at a time rides in its
    // decision.
    if (ready.some((writer) => writer.busy)) return commit([]);
    return this.holding(ready, async () => {
      const now = this.clock.now();
      const chunks: FeedChunk[] = [];
      const planned: FeedAppended[] = [];
      for (const writer of ready) {
        if (this.unsure.has(writer.partition)) continue;
        let entries: FeedAppended[] = [];
        /** The partition's entries so far become one record of the decision. */
        const cut = () => {
          if (entries.length > 0) chunks.push({ partition: writer.partition, entries: entries.map(envelopeOf) });
          planned.push(...entries);
          entries = [];
        };
        for (const { state } of this.concerned(writer.partition, changed, new Set())) {
          const store = state as StoreState;
          entries.push(...planStoreFeed(store, changed, this.ledger.of(store.id), this.planning(store.id, now)));
          if (entries.length >= MAX_ENTRIES_PER_TRANSACTION) cut();
          if (planned.length + entries.length > MAX_ENTRIES_PER_DECISION) return commit([]);
        }
        cut();
      }
      if (planned.length === 0) return commit([]);
      const notice = this.notice(chunks, trace ?? traceHeaders());
      let result: T;
      try {
        result = await commit(chunks, member, notice);
      } catch (error) {
        for (const chunk of chunks) this.markUnsure(chunk.partition);
        throw error;
      }
      for (const entry of planned) this.ledger.apply(entry);
      // Sent when the transaction committed (the writer calls it), else now.
      notice();
      // Every owned partition planned: `commit` applied the decision, which marked the
      // communications for a pass that would now find nothing to do.
      if (ready.length === owned.length && ready.every((writer) => !this.unsure.has(writer.partition))) {
        for (const { state } of changed) this.dirtyCommunications.delete(state.id);
      }
      return result;
    });
  }

  /**
   * Before `chunks` are appended: the notifier's notice on commit for them, to send once
   * they committed (the gateways may have them then). When it carries every chunk whole,
   * marks them `noticed`, so their records tell projectors that no terminal waits for
   * them. Not some of them: a projector holding those back would hold back the fetch that
   * brings the others too (a national publish, announced only by the projector).
   */
  private notice(chunks: FeedChunk[], trace: Record<string, string>): () => void {
    if (!this.notifier) return () => undefined;
    const { carried, send } = this.notifier.prepare(chunks, trace.traceparent ? [trace.traceparent] : []);
    if (carried.every(Boolean)) for (const chunk of chunks) chunk.noticed = true;
    let sent = false;
    return () => {
      if (sent) return;
      sent = true;
      send();
    };
  }

  /** Runs `work` holding the serialize turn of every writer, in the order given. */
  private holding<T>(writers: TransactionalWriter[], work: () => Promise<T>): Promise<T> {
    if (writers.length === 0) return work();
    const [first, ...rest] = writers;
    return first.serialize(() => this.holding(rest, work));
  }

  /** planStoreFeed's options for one store: now, and where it records a brief it holds back. */
  private planning(storeId: string, now: Date) {
    return {
      now,
      waiting: (at: number) => {
        const due = this.briefsDue.get(storeId);
        if (due === undefined || at < due) this.briefsDue.set(storeId, at);
      },
    };
  }

  private concerned(
    partition: number,
    changed: VersionedCommunication[],
    stores: Set<string>,
  ): Iterable<AggregateEntry> {
    const scope = new Map<string, AggregateEntry>();
    const take = (entry: AggregateEntry) => {
      if (entry.partition === partition && entry.version > 0) scope.set(entry.id, entry);
    };
    for (const id of stores) take(this.store.get('store', id));
    for (const { state } of changed) {
      for (const entry of this.store.storesTargetedBy(state.content.audience, partition)) take(entry);
      for (const id of this.ledger.holders(state.id)) take(this.store.get('store', id));
    }
    return scope.values();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.briefTimer);
    await this.running;
  }
}

/** Live (published) communications indexed by the parts of their audience. */
interface LiveAudiences {
  all: string[];
  byStore: Map<string, string[]>;
  byRegion: Map<string, string[]>;
  byTag: Map<string, string[]>;
}

function liveAudiences(communications: Iterable<CommunicationState>): LiveAudiences {
  const index: LiveAudiences = { all: [], byStore: new Map(), byRegion: new Map(), byTag: new Map() };
  const push = (map: Map<string, string[]>, key: string, id: string) => {
    const ids = map.get(key);
    if (ids) ids.push(id);
    else map.set(key, [id]);
  };
  for (const communication of communications) {
    if (communication.status !== 'published') continue;
    const { audience } = communication.content;
    if (audience.all === true) index.all.push(communication.id);
    for (const id of audience.storeIds ?? []) push(index.byStore, id, communication.id);
    for (const id of audience.regionIds ?? []) push(index.byRegion, id, communication.id);
    for (const tag of audience.tags ?? []) push(index.byTag, tag, communication.id);
  }
  return index;
}

function envelopeOf(entry: FeedAppended): DomainEvent<'feed.appended'> {
  return feedEvent(entry, uuidv5(`feed:${entry.storeId}:${entry.feedSeq}`, FEED_IDS));
}
