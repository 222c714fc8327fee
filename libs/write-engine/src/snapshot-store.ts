/**
 * Aggregate snapshots: where the command service keeps what it does not hold in memory
 * (docs/write-side.md, "Bounded memory"). Redis in production, a Map in unit specs.
 */
import { randomUUID } from 'node:crypto';
import type { ChainableCommander, default as Redis } from 'ioredis';
import { pipelineReplies } from '@lastmeter/redis';
import type { AggregateType } from '@lastmeter/contracts';
import type { CommandRecord } from './aggregate-store';

/** One aggregate as of `version` (the events of its partition up to some offset). */
export interface AggregateSnapshot {
  type: AggregateType;
  id: string;
  version: number;
  partition: number;
  state: unknown;
}

/** A finished command's outcome, kept for replays of its Idempotency-Key until `expiresAt` (epoch ms). */
export interface CommandRecordSnapshot {
  commandId: string;
  record: CommandRecord;
  expiresAt: number;
}

export interface SnapshotBatch {
  aggregates: AggregateSnapshot[];
  records: CommandRecordSnapshot[];
  /** Index entries of the cached types: lower-cased username → user id, terminal id → store id. */
  users?: Array<[username: string, userId: string]>;
  terminals?: Array<[storeId: string, terminalId: string]>;
}

/**
 * The snapshot store no longer holds what this instance wrote (Redis restarted without
 * persistence, or was flushed): what is in memory can no longer be completed from it.
 */
export class SnapshotsLost extends Error {
  constructor() {
    super('the snapshot store lost its snapshots (Redis restarted empty or was flushed)');
  }
}

export interface SnapshotStore {
  /**
   * Opens the store (start-up): from then on, loads and saves fail with SnapshotsLost if
   * the store loses what it held.
   */
  open(): Promise<void>;
  /**
   * Per events partition, the offset below which every event is in the snapshots (some
   * snapshots may be newer: folding is idempotent by version). Empty when there are none.
   */
  checkpoints(): Promise<Map<number, number>>;
  /** Calls `each` with every snapshot of one aggregate type (start-up). */
  scan(type: AggregateType, each: (snapshot: AggregateSnapshot) => void): Promise<void>;
  /** The snapshots of `ids` (undefined where there is none), in order. */
  load(type: AggregateType, ids: string[]): Promise<Array<AggregateSnapshot | undefined>>;
  /** The unexpired command records of `commandIds` (undefined where there is none), in order. */
  loadRecords(commandIds: string[]): Promise<Array<CommandRecordSnapshot | undefined>>;
  /** The user id of a lower-cased username, from the index written with the snapshots. */
  userIdByName(username: string): Promise<string | undefined>;
  /** The ids of the terminals of a store, from the index written with the snapshots. */
  terminalIdsOf(storeId: string): Promise<string[]>;
  /**
   * Writes snapshots (a snapshot never replaces a newer one: two instances may write the
   * same aggregate) and records; then, once they are stored, moves the checkpoints forward.
   */
  save(batch: SnapshotBatch, checkpoints: Map<number, number>): Promise<void>;
  /** Forgets everything (the snapshots belong to a log that is gone). */
  clear(): Promise<void>;
}

/** Writes each `id, version, value` triple of ARGV to hash KEYS[1] unless it holds a newer version. */
const SAVE_IF_NEWER = `
local saved = 0
for i = 1, #ARGV, 3 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local version = tonumber(ARGV[i + 1])
  if not current or tonumber(string.match(current, '^(%d+)|')) < version then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. '|' .. ARGV[i + 2])
    saved = saved + 1
  end
end
return saved`;

/**
 * Moves each `partition, offset` pair of ARGV[2..] forward in hash KEYS[1] (never back),
 * unless KEYS[2] no longer holds the generation ARGV[1] (the snapshots were lost).
 */
const ADVANCE = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return redis.error_reply('LOST snapshots') end
for i = 2, #ARGV, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if current < tonumber(ARGV[i + 1]) then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1`;

/** Fields per script call, so that one call never blocks Redis for long. */
const CHUNK = 500;

/**
 * Snapshots in Redis, all under one hash tag `{<prefix>write:<events topic>}` so that every
 * script and multi-key command touches one slot (Redis Cluster): one hash per aggregate
 * type (`agg:<type>`, field = aggregate id, value = `<version>|<json>`), a hash of
 * checkpoints, and one key per command record with the rest of its window as TTL.
 * The events topic's name is part of the tag: snapshots never outlive, or leak into, another log.
 */
export class RedisSnapshotStore implements SnapshotStore {
  private readonly tag: string;
  /** A random marker set once per snapshot store: gone or changed = the snapshots were lost. */
  private generation?: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    eventsTopic: string,
  ) {
    this.tag = `{${keyPrefix}write:${eventsTopic}}`;
  }

  private typeKey(type: AggregateType): string {
    return `${this.tag}:agg:${type}`;
  }

  private recordKey(commandId: string): string {
    return `${this.tag}:cmd:${commandId}`;
  }

  private get checkpointKey(): string {
    return `${this.tag}:checkpoints`;
  }

  private get usersKey(): string {
    return `${this.tag}:idx:users`;
  }

  private terminalsKey(storeId: string): string {
    return `${this.tag}:idx:terminals:${storeId}`;
  }

  async userIdByName(username: string): Promise<string | undefined> {
    const [id] = (await this.guarded((multi) => multi.hget(this.usersKey, username))) as [string | null];
    return id ?? undefined;
  }

  async terminalIdsOf(storeId: string): Promise<string[]> {
    const [ids] = (await this.guarded((multi) => multi.smembers(this.terminalsKey(storeId)))) as [string[]];
    return ids;
  }

  private get generationKey(): string {
    return `${this.tag}:generation`;
  }

  async open(): Promise<void> {
    await this.redis.set(this.generationKey, randomUUID(), 'NX');
    this.generation = (await this.redis.get(this.generationKey)) ?? undefined;
  }

  /** Runs `reads` in a MULTI after checking the generation (same slot: one hash tag). */
  private async guarded(reads: (multi: ChainableCommander) => void): Promise<unknown[]> {
    const multi = this.redis.multi().get(this.generationKey);
    reads(multi);
    const [generation, ...values] = pipelineReplies(await multi.exec());
    if (this.generation !== undefined && generation !== this.generation) throw new SnapshotsLost();
    return values;
  }

  async checkpoints(): Promise<Map<number, number>> {
    const fields = await this.redis.hgetall(this.checkpointKey);
    return new Map(Object.entries(fields).map(([partition, offset]) => [Number(partition), Number(offset)]));
  }

  async scan(type: AggregateType, each: (snapshot: AggregateSnapshot) => void): Promise<void> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.typeKey(type), cursor, 'COUNT', 2_000);
      for (let i = 1; i < flat.length; i += 2) each(parseSnapshot(type, flat[i - 1]!, flat[i]!));
      cursor = next;
    } while (cursor !== '0');
  }

  async load(type: AggregateType, ids: string[]): Promise<Array<AggregateSnapshot | undefined>> {
    if (ids.length === 0) return [];
    const [values] = (await this.guarded((multi) => multi.hmget(this.typeKey(type), ...ids))) as [Array<string | null>];
    return values.map((value, i) => (value === null ? undefined : parseSnapshot(type, ids[i]!, value)));
  }

  async loadRecords(commandIds: string[]): Promise<Array<CommandRecordSnapshot | undefined>> {
    if (commandIds.length === 0) return [];
    const [values] = (await this.guarded((multi) => multi.mget(...commandIds.map((id) => this.recordKey(id))))) as [
      Array<string | null>,
    ];
    return values.map((value, i) => {
      if (value === null) return undefined;
      const { record, expiresAt } = JSON.parse(value) as Omit<CommandRecordSnapshot, 'commandId'>;
      return { commandId: commandIds[i]!, record, expiresAt };
    });
  }

  async save(batch: SnapshotBatch, checkpoints: Map<number, number>): Promise<void> {
    const pipeline = this.redis.pipeline();
    const byType = new Map<AggregateType, AggregateSnapshot[]>();
    for (const snapshot of batch.aggregates) {
      const list = byType.get(snapshot.type) ?? [];
      list.push(snapshot);
      byType.set(snapshot.type, list);
    }
    for (const [type, snapshots] of byType) {
      for (let i = 0; i < snapshots.length; i += CHUNK) {
        const args = snapshots
          .slice(i, i + CHUNK)
          .flatMap(({ id, version, partition, state }) => [id, String(version), JSON.stringify({ partition, state })]);
        pipeline.eval(SAVE_IF_NEWER, 1, this.typeKey(type), ...args);
      }
    }
    if (batch.users?.length) pipeline.hset(this.usersKey, Object.fromEntries(batch.users));
    for (const [storeId, terminalId] of batch.terminals ?? []) pipeline.sadd(this.terminalsKey(storeId), terminalId);
    const now = Date.now();
    for (const { commandId, record, expiresAt } of batch.records) {
      if (expiresAt > now) {
        pipeline.set(this.recordKey(commandId), JSON.stringify({ record, expiresAt }), 'PX', expiresAt - now);
      }
    }
    if (pipeline.length > 0) pipelineReplies(await pipeline.exec());
    const args = [...checkpoints].flatMap(([partition, offset]) => [String(partition), String(offset)]);
    try {
      await this.redis.eval(ADVANCE, 2, this.checkpointKey, this.generationKey, this.generation ?? '', ...args);
    } catch (error) {
      throw (error as Error).message.includes('LOST snapshots') ? new SnapshotsLost() : error;
    }
  }

  async clear(): Promise<void> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${escapeGlob(this.tag)}:*`, 'COUNT', 1_000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    for (let i = 0; i < keys.length; i += CHUNK) await this.redis.del(...keys.slice(i, i + CHUNK));
    await this.open();
  }
}

function parseSnapshot(type: AggregateType, id: string, value: string): AggregateSnapshot {
  const bar = value.indexOf('|');
  const { partition, state } = JSON.parse(value.slice(bar + 1)) as { partition: number; state: unknown };
  return { type, id, version: Number(value.slice(0, bar)), partition, state };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Snapshots in a Map (unit specs; what a restart would find in Redis). */
export class MemorySnapshotStore implements SnapshotStore {
  readonly aggregates = new Map<string, AggregateSnapshot>();
  readonly records = new Map<string, CommandRecordSnapshot>();
  readonly offsets = new Map<number, number>();
  readonly users = new Map<string, string>();
  readonly terminals = new Map<string, Set<string>>();
  saves = 0;
  /** Set to make every later call fail as if Redis had lost everything. */
  lost = false;

  async open(): Promise<void> {
    this.lost = false;
  }

  async checkpoints(): Promise<Map<number, number>> {
    return new Map(this.offsets);
  }

  async scan(type: AggregateType, each: (snapshot: AggregateSnapshot) => void): Promise<void> {
    for (const snapshot of this.aggregates.values()) if (snapshot.type === type) each(structuredClone(snapshot));
  }

  async load(type: AggregateType, ids: string[]): Promise<Array<AggregateSnapshot | undefined>> {
    if (this.lost) throw new SnapshotsLost();
    return ids.map((id) => {
      const found = this.aggregates.get(`${type}/${id}`);
      return found && structuredClone(found);
    });
  }

  async loadRecords(commandIds: string[]): Promise<Array<CommandRecordSnapshot | undefined>> {
    return commandIds.map((id) => {
      const found = this.records.get(id);
      // Expiry is the store's to judge (its clock); Redis drops expired keys on its own.
      return found && structuredClone(found);
    });
  }

  async save(batch: SnapshotBatch, checkpoints: Map<number, number>): Promise<void> {
    if (this.lost) throw new SnapshotsLost();
    this.saves++;
    for (const snapshot of batch.aggregates) {
      const key = `${snapshot.type}/${snapshot.id}`;
      if ((this.aggregates.get(key)?.version ?? 0) < snapshot.version)
        this.aggregates.set(key, structuredClone(snapshot));
    }
    for (const record of batch.records) this.records.set(record.commandId, structuredClone(record));
    for (const [username, userId] of batch.users ?? []) this.users.set(username, userId);
    for (const [storeId, terminalId] of batch.terminals ?? []) {
      this.terminals.set(storeId, (this.terminals.get(storeId) ?? new Set()).add(terminalId));
    }
    for (const [partition, offset] of checkpoints) {
      if ((this.offsets.get(partition) ?? -1) < offset) this.offsets.set(partition, offset);
    }
  }

  async userIdByName(username: string): Promise<string | undefined> {
    if (this.lost) throw new SnapshotsLost();
    return this.users.get(username);
  }

  async terminalIdsOf(storeId: string): Promise<string[]> {
    if (this.lost) throw new SnapshotsLost();
    return [...(this.terminals.get(storeId) ?? [])];
  }

  async clear(): Promise<void> {
    this.users.clear();
    this.terminals.clear();
    this.aggregates.clear();
    this.records.clear();
    this.offsets.clear();
  }
}
