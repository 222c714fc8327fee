/** The decider's state: aggregates folded from the log, bounded in memory (snapshots beyond). */
import {
  AGGREGATE_TYPES,
  isAggregateType,
  type AggregateType,
  type Audience,
  type CommandOutcome,
  type DomainEvent,
} from '@lastmeter/contracts';
import { DECIDERS, type DirectoryView, type StoreState, type TerminalState, type UserState } from '@lastmeter/domain';
import {
  SnapshotsLost,
  type AggregateSnapshot,
  type CommandRecordSnapshot,
  type SnapshotStore,
} from './snapshot-store';
import { waitsForTime, type Schedulable } from './schedule';

/** What a finished command produced, so a replay of its Idempotency-Key answers the same. */
export interface CommandRecord {
  commandHash?: string;
  outcome: Extract<CommandOutcome, { ok: true }>;
}

export interface AggregateEntry {
  type: AggregateType;
  id: string;
  version: number;
  state: unknown;
  /** Partition of the events topic that holds this aggregate's history. */
  partition: number;
}

/**
 * Held in memory for good: the sequencer plans every publish against the stores and the
 * live communications, and the deciders check regions and stores. Terminals and users (the
 * bulk of a large directory, rarely touched) are cached and loaded from snapshots.
 */
export type ResidentType = 'region' | 'store' | 'communication';
/** Always in memory; the others (terminals, users, staff) are a cache when snapshots are on. */
const RESIDENT: ReadonlySet<AggregateType> = new Set<AggregateType>(['region', 'store', 'communication']);

export interface AggregateStoreOptions {
  /** Where evicted aggregates and command records live; without it nothing is ever evicted. */
  snapshots?: SnapshotStore;
  /** Terminals and users kept in memory at most (between flushes, plus those in use). */
  cacheSize?: number;
  /** Command records kept in memory at most (the rest are in the snapshot store). */
  recordCacheSize?: number;
  /** How long a finished command answers a replay of its Idempotency-Key (ms). */
  idempotencyWindowMs?: number;
  now?: () => number;
}

const DAY_MS = 86_400_000;

/**
 * The aggregates' current state, folded from the events topic (EventTail) and from the
 * decider's own appends. Applying is idempotent by aggregateVersion, so the tail re-reading
 * what the decider already applied is a no-op.
 *
 * Memory is bounded (docs/write-side.md, "Bounded memory"): regions, stores and
 * communications are resident; terminals and users are a cache of at most `cacheSize`,
 * loaded from the snapshot store on demand (`load`, before any `get`); finished commands
 * are remembered for the idempotency window, the recent ones in memory. `flush` writes
 * what changed to the snapshot store with the tail's checkpoints, then evicts.
 */
export class AggregateStore {
  /** Resident aggregates, and cached terminals and users in least-recently-used order. */
  private readonly entries = new Map<string, AggregateEntry>();
  private cached = 0;
  /** Keys changed since the last flush (never evicted before it), with the version changed to. */
  private readonly dirty = new Map<string, number>();
  /** Keys a decision in flight holds (never evicted). */
  private readonly pins = new Map<string, number>();
  /** Command records by commandId, least recently used first; and those not flushed yet. */
  private readonly records = new Map<string, { record: CommandRecord; expiresAt: number }>();
  private readonly dirtyRecords = new Set<string>();
  /**
   * Indexes, so that nothing walks every aggregate: resident ids by type and partition
   * (the scheduler and the sequencer walk one partition's communications or stores), by
   * type, and stores by region and by tag (audience resolution, `storesTargetedBy`); for
   * the cached types, users by name and terminals by store.
   */
  private readonly byPartition = new Map<string, Set<string>>();
  private readonly byType = new Map<AggregateType, Set<string>>();
  private readonly storesByRegion = new Map<string, Set<string>>();
  private readonly storesByTag = new Map<string, Set<string>>();
  /** Communications waiting for a time of their own (`waitsForTime`), by partition: the scheduler's. */
  private readonly timedByPartition = new Map<number, Set<string>>();
  /**
   * Lower-cased username → user id (usernames are public; secrets are in CredentialStore),
   * and terminals by store. With snapshots on, only what changed since the last flush:
   * the rest of these two indexes is in the snapshot store.
   */
  private readonly usersByName = new Map<string, string>();
  private readonly terminalsByStore = new Map<string, Set<string>>();
  private readonly listeners: Array<(event: DomainEvent) => void> = [];
  private rebuild?: () => Promise<void>;
  private rebuilding?: Promise<void>;
  private readonly snapshots?: SnapshotStore;
  private readonly cacheSize: number;
  private readonly recordCacheSize: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly options: AggregateStoreOptions = {}) {
    this.snapshots = options.snapshots;
    this.cacheSize = options.cacheSize ?? 20_000;
    this.recordCacheSize = options.recordCacheSize ?? 10_000;
    this.windowMs = options.idempotencyWindowMs ?? DAY_MS;
    this.now = options.now ?? Date.now;
  }

  private key(type: AggregateType, id: string): string {
    return `${type}/${id}`;
  }

  /** Whether aggregates of `type` may be out of memory (then `load` them before `get`). */
  private evictable(type: AggregateType): boolean {
    return this.snapshots !== undefined && !RESIDENT.has(type);
  }

  /**
   * The aggregate as folded so far (version 0 and the initial state when there is none).
   * A terminal or user must have been loaded (`load`) first when snapshots are on.
   */
  get(type: AggregateType, id: string, partition = -1): AggregateEntry {
    const key = this.key(type, id);
    const entry = this.entries.get(key);
    if (entry) {
      if (this.evictable(type)) this.touch(key, entry);
      return entry;
    }
    if (this.evictable(type)) throw new Error(`${key} is not in memory: load it first`);
    return emptyEntry(type, id, partition);
  }

  private touch(key: string, entry: AggregateEntry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  /**
   * Brings terminals and users into memory from the snapshot store (the others always
   * are); an aggregate that has none is cached as empty. Resolves once all of them are.
   */
  async load(keys: Iterable<readonly [AggregateType, string]>): Promise<void> {
    const missing = new Map<AggregateType, Set<string>>();
    for (const [type, id] of keys) {
      if (!this.evictable(type) || this.entries.has(this.key(type, id))) continue;
      const ids = missing.get(type) ?? new Set<string>();
      ids.add(id);
      missing.set(type, ids);
    }
    await Promise.all(
      [...missing].map(async ([type, idSet]) => {
        const ids = [...idSet];
        const found = await this.fromSnapshots((snapshots) => snapshots.load(type, ids));
        ids.forEach((id, i) => {
          const key = this.key(type, id);
          // Applied or loaded meanwhile: what is in memory is at least as new.
          if (this.entries.has(key)) return;
          const snapshot = found[i];
          this.entries.set(key, snapshot ? { ...snapshot } : emptyEntry(type, id, -1));
          this.cached++;
        });
      }),
    );
  }

  /** Brings the records of `commandIds` into memory (those still in the idempotency window). */
  async loadRecords(commandIds: Iterable<string>): Promise<void> {
    if (!this.snapshots) return;
    const ids = [...new Set(commandIds)].filter((id) => !this.records.has(id));
    if (ids.length === 0) return;
    const found = await this.fromSnapshots((snapshots) => snapshots.loadRecords(ids));
    ids.forEach((id, i) => {
      const snapshot = found[i];
      if (snapshot && !this.records.has(id))
        this.records.set(id, { record: snapshot.record, expiresAt: snapshot.expiresAt });
    });
  }

  /** Keeps `keys` in memory until the returned function is called (a decision in flight). */
  pin(keys: Iterable<readonly [AggregateType, string]>): () => void {
    const held = [...keys].map(([type, id]) => this.key(type, id));
    for (const key of held) this.pins.set(key, (this.pins.get(key) ?? 0) + 1);
    return () => {
      for (const key of held) {
        const count = (this.pins.get(key) ?? 1) - 1;
        if (count > 0) this.pins.set(key, count);
        else this.pins.delete(key);
      }
    };
  }

  /** The outcome of a finished command within the window (its records must be loaded). */
  record(commandId: string): CommandRecord | undefined {
    const found = this.records.get(commandId);
    if (!found || (this.snapshots && found.expiresAt <= this.now())) return undefined;
    return found.record;
  }

  /** Folds one event in; returns false when it was already applied. */
  apply(event: DomainEvent, partition: number): boolean {
    if (!isAggregateType(event.aggregateType)) return false;
    const key = this.key(event.aggregateType, event.aggregateId);
    const previous = this.entries.get(key);
    if (!previous && this.evictable(event.aggregateType)) {
      throw new Error(`${key} is not in memory: load it before applying ${event.type}`);
    }
    const next = fold(previous ?? emptyEntry(event.aggregateType, event.aggregateId, partition), event, partition);
    if (!next) return false;
    if (previous && this.evictable(event.aggregateType)) this.entries.delete(key);
    this.entries.set(key, next);
    if (this.snapshots) this.dirty.set(key, next.version);
    this.remember(event);
    this.index(event, previous, next);
    for (const listener of this.listeners) listener(event);
    return true;
  }

  /** Records the command of an event (within the window), so that a replay answers the same. */
  private remember(event: DomainEvent): void {
    const expiresAt = Date.parse(event.occurredAt) + this.windowMs;
    if (this.snapshots && expiresAt <= this.now()) return;
    const record = recordAfter(this.records.get(event.commandId)?.record, event);
    this.records.delete(event.commandId);
    this.records.set(event.commandId, { expiresAt, record });
    if (this.snapshots) this.dirtyRecords.add(event.commandId);
  }

  /**
   * What to do when the snapshot store turns out to have lost what it held (Redis
   * restarted empty, or was flushed): `rebuild` writes the snapshots again from the log
   * (EventTail). Until it resolves, loads wait and flushes are held back (what changed
   * stays in memory), then the call that met the loss is retried.
   */
  onSnapshotsLost(rebuild: () => Promise<void>): void {
    this.rebuild = rebuild;
  }

  private async fromSnapshots<T>(call: (snapshots: SnapshotStore) => Promise<T>): Promise<T> {
    for (;;) {
      if (this.rebuilding) await this.rebuilding;
      try {
        return await call(this.snapshots!);
      } catch (error) {
        if (!(error instanceof SnapshotsLost) || !this.rebuild) throw error;
        // Started after `rebuilding` is set, so that what it calls meanwhile waits (or is held back).
        const rebuild = this.rebuild;
        this.rebuilding ??= Promise.resolve()
          .then(() => rebuild())
          .finally(() => (this.rebuilding = undefined));
      }
    }
  }

  /** Opens the snapshot store again after a loss (a new generation). */
  async reopenSnapshots(): Promise<void> {
    await this.snapshots?.open();
  }

  /** A store over the same snapshots, for rebuilding them from the log. */
  forRebuild(): AggregateStore {
    return new AggregateStore(this.options);
  }

  /** Calls `listener` with every event once it is folded in (committed to Kafka). */
  onApplied(listener: (event: DomainEvent) => void): void {
    this.listeners.push(listener);
  }

  /**
   * A scratch view for deciding a batch of commands before its transaction commits:
   * reads fall through to the store, writes stay in the view. The store itself only
   * changes once the events are in Kafka (apply them then).
   */
  stage(): AggregateView {
    const overlay = new Map<string, AggregateEntry>();
    const records = new Map<string, CommandRecord>();
    const get = (type: AggregateType, id: string, partition = -1) =>
      overlay.get(this.key(type, id)) ?? this.get(type, id, partition);
    return {
      get,
      record: (commandId) => records.get(commandId) ?? this.record(commandId),
      apply: (event, partition) => {
        if (!isAggregateType(event.aggregateType)) return;
        const next = fold(get(event.aggregateType, event.aggregateId, partition), event, partition);
        if (!next) return;
        overlay.set(this.key(event.aggregateType, event.aggregateId), next);
        // A second copy of the command in the same batch answers the same.
        records.set(event.commandId, recordAfter(records.get(event.commandId) ?? this.record(event.commandId), event));
      },
      directory: (misses = []) => directoryOf(get, misses),
    };
  }

  /**
   * Restores what the snapshot store holds (start-up): the resident aggregates (terminals
   * and users are loaded when needed). Resolves with the checkpoints to read the log from.
   */
  async restore(): Promise<Map<number, number>> {
    if (!this.snapshots) return new Map();
    await this.snapshots.open();
    const checkpoints = await this.snapshots.checkpoints();
    for (const type of AGGREGATE_TYPES) {
      if (!RESIDENT.has(type)) continue;
      await this.snapshots.scan(type, (snapshot) => {
        const entry: AggregateEntry = { ...snapshot };
        this.entries.set(this.key(type, snapshot.id), entry);
        this.index(undefined, undefined, entry);
      });
    }
    return checkpoints;
  }

  /** Forgets the snapshots (they belong to another log). */
  async discardSnapshots(): Promise<void> {
    await this.snapshots?.clear();
  }

  /** Forgets everything in memory (before reading the log from the start). */
  reset(): void {
    for (const map of [this.entries, this.dirty, this.records, this.byPartition, this.byType]) map.clear();
    for (const map of [this.storesByRegion, this.storesByTag, this.usersByName, this.terminalsByStore]) map.clear();
    this.timedByPartition.clear();
    this.dirtyRecords.clear();
    this.cached = 0;
  }

  /**
   * Writes what changed since the last flush to the snapshot store, with `checkpoints`
   * (per events partition, an offset below which every event has been applied here), then
   * evicts least recently used terminals, users and records beyond the cache sizes.
   */
  async flush(checkpoints: Map<number, number>): Promise<void> {
    // While the snapshots are rebuilt, what changed waits in memory (never evicted while dirty).
    if (!this.snapshots || this.rebuilding) return;
    const aggregates: AggregateSnapshot[] = [];
    const flushed = new Map(this.dirty);
    for (const key of flushed.keys()) {
      const entry = this.entries.get(key);
      if (entry)
        aggregates.push({
          type: entry.type,
          id: entry.id,
          version: entry.version,
          partition: entry.partition,
          state: entry.state,
        });
    }
    const records: CommandRecordSnapshot[] = [];
    const flushedRecords = [...this.dirtyRecords];
    this.dirtyRecords.clear();
    for (const commandId of flushedRecords) {
      const found = this.records.get(commandId);
      if (found) records.push({ commandId, record: found.record, expiresAt: found.expiresAt });
    }
    const users = [...this.usersByName];
    const terminals = [...this.terminalsByStore].flatMap(([storeId, ids]) =>
      [...ids].map((id) => [storeId, id] as [string, string]),
    );
    try {
      await this.fromSnapshots((snapshots) => snapshots.save({ aggregates, records, users, terminals }, checkpoints));
    } catch (error) {
      for (const commandId of flushedRecords) this.dirtyRecords.add(commandId);
      throw error;
    }
    // The index entries are in the snapshot store now (those added meanwhile stay).
    for (const [username, userId] of users)
      if (this.usersByName.get(username) === userId) this.usersByName.delete(username);
    for (const [storeId, terminalId] of terminals) remove(this.terminalsByStore, storeId, terminalId);
    // Changed again while saving: still dirty.
    for (const [key, version] of flushed) if (this.dirty.get(key) === version) this.dirty.delete(key);
    this.evict();
  }

  /** Sizes, for the metrics and the start-up log. */
  sizes(): { resident: number; cached: number; records: number; dirty: number } {
    return {
      resident: this.entries.size - this.cached,
      cached: this.cached,
      records: this.records.size,
      dirty: this.dirty.size,
    };
  }

  private evict(): void {
    if (this.cached > this.cacheSize) {
      for (const [key, entry] of this.entries) {
        if (this.cached <= this.cacheSize) break;
        if (RESIDENT.has(entry.type) || this.dirty.has(key) || this.pins.has(key)) continue;
        this.entries.delete(key);
        this.cached--;
      }
    }
    const now = this.now();
    for (const [commandId, { expiresAt }] of this.records) {
      if (this.records.size <= this.recordCacheSize && expiresAt > now) break;
      if (this.dirtyRecords.has(commandId)) continue;
      this.records.delete(commandId);
    }
  }

  private index(event: DomainEvent | undefined, previous: AggregateEntry | undefined, next: AggregateEntry): void {
    if (next.type === 'user') {
      const username = event?.type === 'user.created' ? event.data.username : (next.state as UserState).username;
      if (username && (event === undefined || event.type === 'user.created')) {
        this.usersByName.set(username.toLowerCase(), next.id);
      }
      return;
    }
    if (next.type === 'terminal') {
      const storeId = (next.state as TerminalState).storeId;
      if (storeId && (previous?.state as TerminalState | undefined)?.storeId !== storeId) {
        add(this.terminalsByStore, storeId, next.id);
      }
      return;
    }
    // Staff are cached like users and terminals; their rosters are read from Redis, not here.
    if (next.type === 'staff') return;
    if (!previous) {
      add(this.byPartition, `${next.type}/${next.partition}`, next.id);
      add(this.byType, next.type, next.id);
    }
    if (next.type === 'store') {
      const before = previous?.state as StoreState | undefined;
      const after = next.state as StoreState;
      if (before?.regionId !== after.regionId) {
        if (before) remove(this.storesByRegion, before.regionId, next.id);
        add(this.storesByRegion, after.regionId, next.id);
      }
      for (const tag of before?.tags ?? []) if (!after.tags.includes(tag)) remove(this.storesByTag, tag, next.id);
      for (const tag of after.tags) add(this.storesByTag, tag, next.id);
    }
    if (next.type === 'communication') {
      if (waitsForTime(next.state as Schedulable)) add(this.timedByPartition, next.partition, next.id);
      else remove(this.timedByPartition, next.partition, next.id);
    }
  }

  private *entriesOf(type: AggregateType, ids: Iterable<string> | undefined): Iterable<AggregateEntry> {
    for (const id of ids ?? []) {
      const entry = this.entries.get(this.key(type, id));
      if (entry) yield entry;
    }
  }

  /**
   * The stores of one partition that `audience` may reach, from the indexes (a superset of
   * what `targetsStore` selects when the audience changed since; the planner decides).
   */
  *storesTargetedBy(audience: Audience, partition: number): Iterable<AggregateEntry> {
    if (audience.all === true) {
      yield* this.inPartition(partition, 'store');
      return;
    }
    const ids = new Set<string>(audience.storeIds ?? []);
    for (const region of audience.regionIds ?? []) for (const id of this.storesByRegion.get(region) ?? []) ids.add(id);
    for (const tag of audience.tags ?? []) for (const id of this.storesByTag.get(tag) ?? []) ids.add(id);
    for (const entry of this.entriesOf('store', ids)) if (entry.partition === partition) yield entry;
  }

  async userIdByName(username: string): Promise<string | undefined> {
    const name = username.toLowerCase();
    const recent = this.usersByName.get(name);
    if (recent || !this.snapshots) return recent;
    return this.fromSnapshots((snapshots) => snapshots.userIdByName(name));
  }

  /** Ids of the terminals registered in a store (load them before reading them). */
  async terminalIdsOf(storeId: string): Promise<string[]> {
    const ids = new Set(this.terminalsByStore.get(storeId) ?? []);
    if (this.snapshots) for (const id of await this.fromSnapshots((s) => s.terminalIdsOf(storeId))) ids.add(id);
    return [...ids];
  }

  /** Resident aggregates of one events partition (the scheduler walks those it owns). */
  *inPartition(partition: number, type: ResidentType): Iterable<AggregateEntry> {
    yield* this.entriesOf(type, this.byPartition.get(`${type}/${partition}`));
  }

  /** The communications of one events partition that wait for a time of their own (the scheduler's). */
  *timedInPartition(partition: number): Iterable<AggregateEntry> {
    yield* this.entriesOf('communication', this.timedByPartition.get(partition));
  }

  /** The current state of every resident aggregate of one type. */
  *statesOf<State>(type: ResidentType): Iterable<State> {
    for (const entry of this.entriesOf(type, this.byType.get(type))) yield entry.state as State;
  }
}

/** What deciding needs to read and stage. */
export interface AggregateView {
  get(type: AggregateType, id: string, partition?: number): AggregateEntry;
  /** The outcome of a finished command (staged in this view, or in the store's window). */
  record(commandId: string): CommandRecord | undefined;
  apply(event: DomainEvent, partition: number): void;
  directory(misses?: string[]): DirectoryView;
}

function add<K>(index: Map<K, Set<string>>, key: K, id: string): void {
  let ids = index.get(key);
  if (!ids) index.set(key, (ids = new Set()));
  ids.add(id);
}

function remove<K>(index: Map<K, Set<string>>, key: K, id: string): void {
  const ids = index.get(key);
  ids?.delete(id);
  if (ids?.size === 0) index.delete(key);
}

function emptyEntry(type: AggregateType, id: string, partition: number): AggregateEntry {
  return { type, id, version: 0, state: DECIDERS[type].initialState(id), partition };
}

/** The entry after one more event, or undefined when the event was already applied. Pure. */
function fold(entry: AggregateEntry, event: DomainEvent, partition: number): AggregateEntry | undefined {
  if (!isAggregateType(event.aggregateType)) return undefined;
  if (event.aggregateVersion <= entry.version) return undefined;
  if (event.aggregateVersion !== entry.version + 1) {
    throw new Error(`gap in ${entry.type}/${entry.id}: at version ${entry.version}, got ${event.aggregateVersion}`);
  }
  const decider = DECIDERS[event.aggregateType] as { evolve(state: unknown, event: DomainEvent): unknown };
  return { ...entry, state: decider.evolve(entry.state, event), version: event.aggregateVersion, partition };
}

/** A command's record once `event` (one of its events) is applied. Pure. */
function recordAfter(record: CommandRecord | undefined, event: DomainEvent): CommandRecord {
  return {
    commandHash: event.commandHash,
    outcome: record
      ? {
          ...record.outcome,
          body: {
            ...record.outcome.body,
            version: event.aggregateVersion,
            eventIds: [...record.outcome.body.eventIds, event.id],
          },
        }
      : {
          ok: true,
          // A command whose first event creates the aggregate answers 201, others 200.
          status: event.aggregateVersion === 1 ? 201 : 200,
          body: { id: event.aggregateId, version: event.aggregateVersion, eventIds: [event.id] },
        },
  };
}

function directoryOf(get: (type: AggregateType, id: string) => AggregateEntry, misses: string[]): DirectoryView {
  const exists = (type: AggregateType, id: string) => {
    const found = (get(type, id).state as { exists?: boolean }).exists === true;
    if (!found) misses.push(`${type}/${id}`);
    return found;
  };
  return { regionExists: (id) => exists('region', id), storeExists: (id) => exists('store', id) };
}
