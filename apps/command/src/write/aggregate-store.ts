import type { AggregateType, CommandOutcome, DomainEvent, UserRole } from '@lastmeter/contracts';
import { DECIDERS, type DirectoryView } from '@lastmeter/domain';

/** What a finished command produced, so a replay of its Idempotency-Key answers the same. */
export interface CommandRecord {
  commandHash?: string;
  outcome: Extract<CommandOutcome, { ok: true }>;
}

/** What login needs of a user (the password hash never leaves the command service). */
export interface Credential {
  userId: string;
  username: string;
  role: UserRole;
  storeId?: string;
  passwordHash: string;
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
  private readonly credentials = new Map<string, Credential>();
  private readonly enrollmentCodes = new Map<string, string>();

  private key(type: AggregateType, id: string): string {
    return `${type}/${id}`;
  }

  get(type: AggregateType, id: string, partition = -1): AggregateEntry {
    const existing = this.entries.get(this.key(type, id));
    if (existing) return existing;
    return { type, id, version: 0, state: DECIDERS[type].initialState(id), partition, commands: new Map() };
  }

  /** Folds one event in; returns false when it was already applied. */
  apply(event: DomainEvent, partition: number): boolean {
    if (event.aggregateType === 'store-activity') return false;
    const entry = this.get(event.aggregateType, event.aggregateId, partition);
    if (event.aggregateVersion <= entry.version) return false;
    if (event.aggregateVersion !== entry.version + 1) {
      throw new Error(
        `gap in ${event.aggregateType}/${event.aggregateId}: at version ${entry.version}, got ${event.aggregateVersion}`,
      );
    }
    const decider = DECIDERS[event.aggregateType] as { evolve(state: unknown, event: DomainEvent): unknown };
    entry.state = decider.evolve(entry.state, event);
    entry.version = event.aggregateVersion;
    entry.partition = partition;
    const record = entry.commands.get(event.commandId);
    if (record) {
      record.outcome.body.version = event.aggregateVersion;
      record.outcome.body.eventIds.push(event.id);
    } else {
      entry.commands.set(event.commandId, {
        commandHash: event.commandHash,
        outcome: {
          ok: true,
          // A command whose first event creates the aggregate answers 201, others 200.
          status: event.aggregateVersion === 1 ? 201 : 200,
          body: { id: event.aggregateId, version: event.aggregateVersion, eventIds: [event.id] },
        },
      });
    }
    this.entries.set(this.key(event.aggregateType, event.aggregateId), entry);
    this.index(event);
    return true;
  }

  private index(event: DomainEvent): void {
    if (event.type === 'user.created') {
      const { username, role, storeId, passwordHash } = event.data;
      this.credentials.set(username.toLowerCase(), {
        userId: event.aggregateId,
        username,
        role,
        storeId,
        passwordHash,
      });
    }
    if (event.type === 'terminal.registered')
      this.enrollmentCodes.set(event.data.enrollmentCodeHash, event.aggregateId);
  }

  credentialOf(username: string): Credential | undefined {
    return this.credentials.get(username.toLowerCase());
  }

  terminalIdByCode(codeHash: string): string | undefined {
    return this.enrollmentCodes.get(codeHash);
  }

  /** Aggregates of one events partition (the scheduler walks those it owns). */
  *inPartition(partition: number, type?: AggregateType): Iterable<AggregateEntry> {
    for (const entry of this.entries.values()) {
      if (entry.partition === partition && (!type || entry.type === type)) yield entry;
    }
  }

  /** The directory as deciders see it; `misses` records lookups that found nothing. */
  directory(misses: string[] = []): DirectoryView {
    const exists = (type: AggregateType, id: string) => {
      const found = (this.entries.get(this.key(type, id))?.state as { exists?: boolean } | undefined)?.exists === true;
      if (!found) misses.push(`${type}/${id}`);
      return found;
    };
    return { regionExists: (id) => exists('region', id), storeExists: (id) => exists('store', id) };
  }
}
