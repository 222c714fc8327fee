/** The decider's in-memory state: every aggregate folded from the log (pure, no I/O). */
import {
  isAggregateType,
  type AggregateType,
  type Audience,
  type CommandOutcome,
  type DomainEvent,
} from '@lastmeter/contracts';
import { DECIDERS, type DirectoryView, type StoreState } from '@lastmeter/domain';

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
  commands: Map<string, CommandRecord>;
}

/**
 * Every aggregate's current state in this command instance's memory, folded from the
 * events topic (EventTail) and from the decider's own appends. Applying is idempotent by
 * aggregateVersion, so the tail re-reading what the decider already applied is a no-op.
 */
export class AggregateStore {
  private readonly entries = new Map<string, AggregateEntry>();
  /**
   * Indexes, so that nothing walks every aggregate: ids by type and partition (the
   * scheduler and the sequencer walk one partition's communications or stores), ids by
   * type, and stores by region and by tag (audience resolution, `storesTargetedBy`).
   */
  private readonly byPartition = new Map<string, Set<string>>();
  private readonly byType = new Map<AggregateType, Set<string>>();
  private readonly storesByRegion = new Map<string, Set<string>>();
  private readonly storesByTag = new Map<string, Set<string>>();
  /** Lower-cased username → user id (usernames are public; secrets are in CredentialStore). */
  private readonly usersByName = new Map<string, string>();
  private readonly listeners: Array<(event: DomainEvent) => void> = [];

  private key(type: AggregateType, id: string): string {
    return `${type}/${id}`;
  }

  get(type: AggregateType, id: string, partition = -1): AggregateEntry {
    return this.entries.get(this.key(type, id)) ?? emptyEntry(type, id, partition);
  }

  /** Folds one event in; returns false when it was already applied. */
  apply(event: DomainEvent, partition: number): boolean {
    if (!isAggregateType(event.aggregateType)) return false;
    const key = this.key(event.aggregateType, event.aggregateId);
    const previous = this.entries.get(key);
    const next = fold(previous ?? emptyEntry(event.aggregateType, event.aggregateId, partition), event, partition);
    if (!next) return false;
    this.entries.set(key, next);
    this.index(event, previous, next);
    for (const listener of this.listeners) listener(event);
    return true;
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
    const get = (type: AggregateType, id: string, partition = -1) =>
      overlay.get(this.key(type, id)) ?? this.get(type, id, partition);
    return {
      get,
      apply: (event, partition) => {
        if (!isAggregateType(event.aggregateType)) return;
        const next = fold(get(event.aggregateType, event.aggregateId, partition), event, partition);
        if (next) overlay.set(this.key(event.aggregateType, event.aggregateId), next);
      },
      directory: (misses = []) => directoryOf(get, misses),
    };
  }

  private index(event: DomainEvent, previous: AggregateEntry | undefined, next: AggregateEntry): void {
    if (event.type === 'user.created') this.usersByName.set(event.data.username.toLowerCase(), event.aggregateId);
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

  userIdByName(username: string): string | undefined {
    return this.usersByName.get(username.toLowerCase());
  }

  /** Aggregates of one events partition (the scheduler walks those it owns). */
  *inPartition(partition: number, type?: AggregateType): Iterable<AggregateEntry> {
    if (type) {
      yield* this.entriesOf(type, this.byPartition.get(`${type}/${partition}`));
      return;
    }
    for (const entry of this.entries.values()) if (entry.partition === partition) yield entry;
  }

  /** The current state of every aggregate of one type. */
  *statesOf<State>(type: AggregateType): Iterable<State> {
    for (const entry of this.entriesOf(type, this.byType.get(type))) yield entry.state as State;
  }
}

/** What deciding needs to read and stage. */
export interface AggregateView {
  get(type: AggregateType, id: string, partition?: number): AggregateEntry;
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
  return { type, id, version: 0, state: DECIDERS[type].initialState(id), partition, commands: new Map() };
}

/** The entry after one more event, or undefined when the event was already applied. Pure. */
function fold(entry: AggregateEntry, event: DomainEvent, partition: number): AggregateEntry | undefined {
  if (!isAggregateType(event.aggregateType)) return undefined;
  if (event.aggregateVersion <= entry.version) return undefined;
  if (event.aggregateVersion !== entry.version + 1) {
    throw new Error(`gap in ${entry.type}/${entry.id}: at version ${entry.version}, got ${event.aggregateVersion}`);
  }
  const decider = DECIDERS[event.aggregateType] as { evolve(state: unknown, event: DomainEvent): unknown };
  const commands = new Map(entry.commands);
  const record = commands.get(event.commandId);
  commands.set(event.commandId, {
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
  });
  return {
    ...entry,
    state: decider.evolve(entry.state, event),
    version: event.aggregateVersion,
    partition,
    commands,
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
