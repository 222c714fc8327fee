import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { pipelineReplies } from '@lastmeter/redis';
import type { IHeaders } from '@lastmeter/kafka';
import { parseRecord, upcast, type DomainEvent, type TopicRole } from '@lastmeter/contracts';
import { catalogue } from './models/catalogue';
import { compliance } from './models/compliance';
import { mediaUse } from './models/media-use';
import { directory } from './models/directory';
import { feed } from './models/feed';
import { presence } from './models/presence';
import { peopleReach } from './models/people-reach';
import { reach } from './models/reach';
import { reports } from './models/reports';
import { surveys } from './models/surveys';
import type { RedisKeys } from './redis-keys';
import { defineScripts, SCRIPTS, type ScriptName } from './scripts';
import type { Announcement, ProjectionContext, ReadModel, VersionedDoc } from './model';

/** A Redis command queued by a model: a command name (or one of SCRIPTS) and its arguments. */
export type Write = [name: string, ...args: Array<string | number>];

export const READ_MODELS: readonly ReadModel[] = [
  catalogue,
  directory,
  feed,
  reach,
  peopleReach,
  compliance,
  presence,
  reports,
  mediaUse,
  surveys,
];

/** A message as a consumer read it. */
export interface SourceMessage {
  topic: TopicRole;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** The record's headers (`traceparent` of a traced feed batch). */
  headers?: IHeaders;
}

export interface Failure {
  message: SourceMessage;
  error: string;
}

export interface BatchResult {
  applied: number;
  failed: Failure[];
  /** Feed items that were new in Redis (not replays), for live notifications. */
  appended: Array<{ storeId: string; feedSeq: number }>;
  /** Feed items appended above a gap in the log: always a bug upstream; counted and logged. */
  gaps: Array<{ storeId: string; feedSeq: number }>;
  announcements: Announcement[];
  /**
   * What became of `ApplyHooks.position`: raised, already there (a batch projected
   * again), or refused because Redis lost writes it would cover (`lmPosition`): the
   * caller re-projects from the position Redis holds.
   */
  position?: 'raised' | 'held' | 'refused';
}

/** A partition's position to raise with a batch's last write (`lmPosition`). */
export interface PositionRaise {
  keys: { position: string; fence: string };
  /** The next offset after the batch. */
  to: number;
  /** The position this projector last saw or wrote: Redis must still hold at least that. */
  from: number;
}

export interface ApplyHooks {
  /**
   * The feed items that were new in Redis, as soon as they are (before the batch's other
   * writes), each with `item`, its JSON as stored in the feed.
   */
  onFeed?(appended: Array<{ storeId: string; feedSeq: number; item: string }>): Promise<void>;
  /** Raised after all of the batch's writes, in the same pipeline as the last of them. */
  position?: PositionRaise;
}

/**
 * Checks the record holds events of ours and brings them to the current schema (DLQ
 * otherwise): one event, or a feed batch's entries (`parseRecord`).
 */
export function decode(message: SourceMessage): DomainEvent[] {
  return parseRecord(message.value).map(upcast);
}

/**
 * Applies batches of events to the read models of one generation. Each batch is folded
 * in memory (documents preloaded with one MGET) and written with two pipelines of
 * idempotent commands (the feed appends, then the rest and the position), so a batch
 * redelivered after a crash changes nothing. An event that cannot be decoded or
 * projected is returned as a failure (for the DLQ) and the others are still applied; a
 * Redis error rejects the whole batch (retry it). What a failover does to the two
 * pipelines is in docs/read-side.md ("When Redis loses data").
 */
export class Projection {
  /** Fence tokens (`lmPosition`) are this instance's id and a counter. */
  private readonly instance = randomUUID();
  private fences = 0;

  constructor(
    private readonly redis: Redis,
    readonly keys: RedisKeys,
  ) {
    defineScripts(redis);
  }

  /**
   * `hooks.onFeed` runs once the batch's feed appends are in Redis, before its other
   * writes (the runner sends the feed notice there); a failure after it retries the whole
   * batch, and the appends, idempotent, then report nothing new.
   */
  async apply(messages: SourceMessage[], hooks: ApplyHooks = {}): Promise<BatchResult> {
    const result: BatchResult = { applied: 0, failed: [], appended: [], gaps: [], announcements: [] };
    const decoded: Array<{ message: SourceMessage; event: DomainEvent }> = [];
    for (const message of messages) {
      try {
        for (const event of decode(message)) decoded.push({ message, event });
      } catch (error) {
        result.failed.push({ message, error: (error as Error).message });
      }
    }
    const docs = await this.preload(decoded.map(({ event }) => event));
    const dirty = new Set<string>();
    const writes: Write[] = [];
    const feedWrites: Array<{ index: number; storeId: string; feedSeq: number; item: string }> = [];
    const beforeFeed: Write[] = [];
    for (const { message, event } of decoded) {
      // An event's writes are kept only if every model projected it.
      const pending: Write[] = [];
      const pendingDocs = new Map<string, VersionedDoc>();
      const pendingFeed: Array<{ at: number; storeId: string; feedSeq: number; item: string }> = [];
      const pendingBeforeFeed: Write[] = [];
      const pendingAnnouncements: Announcement[] = [];
      const context: ProjectionContext = {
        keys: this.keys,
        write: (name, ...args) => pending.push([name, ...args]),
        script: (name, ...args) => pending.push([name, ...args]),
        doc: <T extends VersionedDoc>(key: string) => (pendingDocs.get(key) ?? docs.get(key)) as T | undefined,
        setDoc: (key, doc) => pendingDocs.set(key, doc),
        announce: (announcement) => pendingAnnouncements.push(announcement),
        feedAppended: (storeId, feedSeq, key, item) => {
          pendingFeed.push({ at: pending.length, storeId, feedSeq, item });
          pending.push(['lmAppendFeed', key, feedSeq, item]);
        },
        beforeFeed: (name, ...args) => pendingBeforeFeed.push([name, ...args]),
      };
      try {
        for (const model of READ_MODELS) model.project(event, context);
      } catch (error) {
        result.failed.push({ message, error: `${event.type}: ${(error as Error).message}` });
        continue;
      }
      for (const { at, storeId, feedSeq, item } of pendingFeed) {
        feedWrites.push({ index: writes.length + at, storeId, feedSeq, item });
      }
      writes.push(...pending);
      beforeFeed.push(...pendingBeforeFeed);
      result.announcements.push(...pendingAnnouncements);
      for (const [key, doc] of pendingDocs) {
        docs.set(key, doc);
        dirty.add(key);
      }
      result.applied++;
    }
    for (const key of dirty) {
      const doc = docs.get(key)!;
      writes.push(['lmSetDoc', key, doc.version, JSON.stringify(doc)]);
    }
    const { position } = hooks;
    const raise = (token = ''): Write[] =>
      position ? [['lmPosition', position.keys.position, position.keys.fence, position.to, position.from, token]] : [];
    if (writes.length === 0 && beforeFeed.length === 0) {
      const [reply] = await this.exec(raise());
      if (position) result.position = positionOutcome(reply);
      return result;
    }
    // The feed first, on its own: a national publish's terminals wait for these appends
    // (and the notice `onFeed` sends), not for the reach and other writes of the batch.
    // What a terminal's receipt for an item is checked against goes just before them; a
    // fence token after them, which the position raise checks: if a failover lost this
    // pipeline while the next one reached the new master, the position stays put.
    const feed = new Set(feedWrites.map(({ index }) => writes[index]!));
    const before = mergeSetAdds(beforeFeed);
    const token = position ? `${this.instance}:${++this.fences}` : '';
    const fence: Write[] =
      position && (before.length > 0 || feed.size > 0) ? [['SET', position.keys.fence, token]] : [];
    const feedReplies = (await this.exec([...before, ...feed, ...fence])).slice(before.length);
    const order = new Map([...feed].map((write, i) => [write, i]));
    const aboveGap: Array<{ write: Write; storeId: string; feedSeq: number; item: string }> = [];
    const fresh: Array<{ storeId: string; feedSeq: number; item: string }> = [];
    for (const { index, storeId, feedSeq, item } of feedWrites) {
      const reply = feedReplies[order.get(writes[index]!)!];
      if (reply === 1) fresh.push({ storeId, feedSeq, item });
      if (reply === 3) aboveGap.push({ write: writes[index]!, storeId, feedSeq, item });
    }
    result.appended.push(...fresh.map(({ storeId, feedSeq }) => ({ storeId, feedSeq })));
    if (fresh.length > 0) await hooks.onFeed?.(fresh);
    const rest = foldScripts(
      mergeHashSetNx(dropRepeatedWrites(mergeSetAdds(writes.filter((write) => !feed.has(write))))),
    );
    const replies = await this.exec([...rest, ...raise(fence.length > 0 ? token : '')]);
    if (position) result.position = positionOutcome(replies.at(-1));
    // Items above a gap: if Redis lost nothing (the position went up, or there is none to
    // check), the gap is in the log (a bug upstream) and they go in anyway, as before.
    if (aboveGap.length === 0 || result.position === 'refused') return result;
    const gapReplies = await this.exec(aboveGap.map(({ write }) => [...write, 'gap'] as Write));
    const forced = aboveGap.filter((_, i) => gapReplies[i] === 1 || gapReplies[i] === 2);
    result.gaps.push(
      ...aboveGap.filter((_, i) => gapReplies[i] === 2).map(({ storeId, feedSeq }) => ({ storeId, feedSeq })),
    );
    result.appended.push(...forced.map(({ storeId, feedSeq }) => ({ storeId, feedSeq })));
    if (forced.length > 0)
      await hooks.onFeed?.(forced.map(({ storeId, feedSeq, item }) => ({ storeId, feedSeq, item })));
    return result;
  }

  /** One pipeline of writes (commands or SCRIPTS); their replies, or the first error thrown. */
  private async exec(writes: Write[]): Promise<unknown[]> {
    if (writes.length === 0) return [];
    const pipeline = this.redis.pipeline();
    const scripts = pipeline as unknown as Record<ScriptName, (...args: unknown[]) => void>;
    for (const [name, ...args] of writes) {
      if (name in SCRIPTS) scripts[name as ScriptName](...args);
      else void pipeline.call(name, ...args);
    }
    return pipelineReplies(await pipeline.exec());
  }

  private async preload(events: DomainEvent[]): Promise<Map<string, VersionedDoc>> {
    const keys = [
      ...new Set(events.flatMap((event) => READ_MODELS.flatMap((model) => model.documents?.(event, this.keys) ?? []))),
    ];
    const docs = new Map<string, VersionedDoc>();
    if (keys.length === 0) return docs;
    const values = await this.redis.mget(keys);
    keys.forEach((key, index) => {
      const value = values[index];
      if (value) docs.set(key, JSON.parse(value) as VersionedDoc);
    });
    return docs;
  }
}

function positionOutcome(reply: unknown): BatchResult['position'] {
  return reply === 1 ? 'raised' : reply === 0 ? 'held' : 'refused';
}

/**
 * The writes with every SADD to a key that nothing else in the batch touches folded into
 * the first of them (a national publish adds 20,000 stores to one communication's
 * `targeted` set: one command, not 20,000). Set additions commute, so the result is the
 * same; every other write is kept as the same array object, in order (feed replies are
 * found by it).
 */
export function mergeSetAdds(writes: Write[]): Write[] {
  const adds = new Map<string, Write>();
  const touched = new Set<string>();
  for (const [name, key] of writes) {
    if (name !== 'SADD') touched.add(String(key));
  }
  const merged: Write[] = [];
  for (const write of writes) {
    const [name, key, ...members] = write;
    if (name !== 'SADD' || touched.has(String(key))) {
      merged.push(write);
      continue;
    }
    const first = adds.get(String(key));
    if (first) {
      first.push(...members);
    } else {
      const copy: Write = [name, key!, ...members];
      adds.set(String(key), copy);
      merged.push(copy);
    }
  }
  return merged;
}

/**
 * Writes that change nothing when repeated with the same arguments, whatever else the
 * batch writes: `HSETNX` (the reach step hashes are never trimmed), `lmHashMax` (only
 * raises) and `lmReachStore` (a store's step bit is never cleared).
 */
const IDEMPOTENT = new Set(['HSETNX', 'lmHashMax', 'lmReachStore']);

/**
 * The writes without the repeats of an idempotent write already in the batch (same name
 * and arguments), first occurrences kept in order. A batch of receipts repeats them a
 * lot: a terminal's delivered, read and acknowledged of one communication raise its
 * revision three times with the same number, and the terminals of one store count that
 * store for a step once per receipt; each was a Redis command (two of them Lua scripts).
 */
export function dropRepeatedWrites(writes: Write[]): Write[] {
  const seen = new Set<string>();
  return writes.filter((write) => {
    if (!IDEMPOTENT.has(write[0])) return true;
    const identity = write.join('\0');
    if (seen.has(identity)) return false;
    seen.add(identity);
    return true;
  });
}

/**
 * The writes with every `HSETNX` to a key that nothing else in the batch touches folded,
 * in order, into one `lmHashSetNx` of all their field/value pairs, where the first of
 * them was: the same hash afterwards (the first value of each field wins either way),
 * one command per communication and step instead of one per receipt. Every other write is
 * kept as the same array object, in order.
 */
export function mergeHashSetNx(writes: Write[]): Write[] {
  const touched = new Set<string>();
  for (const [name, key] of writes) {
    if (name !== 'HSETNX') touched.add(String(key));
  }
  const folded = new Map<string, Write>();
  const merged: Write[] = [];
  for (const write of writes) {
    const [name, key, field, value] = write;
    if (name !== 'HSETNX' || touched.has(String(key)) || write.length !== 4) {
      merged.push(write);
      continue;
    }
    const first = folded.get(String(key));
    if (first) {
      first.push(field!, value!);
    } else {
      const script: Write = ['lmHashSetNx', key!, field!, value!];
      folded.set(String(key), script);
      merged.push(script);
    }
  }
  return merged;
}

/**
 * The writes with the per-receipt scripts of one key set folded into one call where the
 * first of them was (issue 16: the projector spent a quarter of its time encoding Redis
 * commands, most of them these):
 * - every `lmReachStore` of one communication (same five keys) into one `lmReachStores`
 *   of their (store, bit, step) triplets, in order;
 * - every `lmHashMax` to one hash into one `lmHashMaxMany` of their pairs, in order.
 * A folded script does exactly what the calls did, in the same order among themselves.
 * They move earlier past the writes between them, which is safe: the keys they write are
 * touched by nothing else in a batch except `lmStoreRegion`, whose counts are the same in
 * either order (scripts.ts). A hash another write touches is left alone.
 */
export function foldScripts(writes: Write[]): Write[] {
  const touched = new Set<string>();
  for (const [name, key] of writes) {
    if (name !== 'lmHashMax') touched.add(String(key));
  }
  const folded = new Map<string, Write>();
  const merged: Write[] = [];
  for (const write of writes) {
    const [name] = write;
    if (name === 'lmReachStore' && write.length === 10) {
      const [, k1, k2, k3, k4, k5, storeId, bit, step, communicationId] = write;
      const id = `r\0${k1}\0${k2}\0${k3}\0${k4}\0${k5}\0${communicationId}`;
      const first = folded.get(id);
      if (first) first.push(storeId!, bit!, step!);
      else {
        const script: Write = ['lmReachStores', k1!, k2!, k3!, k4!, k5!, communicationId!, storeId!, bit!, step!];
        folded.set(id, script);
        merged.push(script);
      }
      continue;
    }
    if (name === 'lmHashMax' && write.length === 4 && !touched.has(String(write[1]))) {
      const [, key, field, value] = write;
      const id = `m\0${key}`;
      const first = folded.get(id);
      if (first) first.push(field!, value!);
      else {
        const script: Write = ['lmHashMaxMany', key!, field!, value!];
        folded.set(id, script);
        merged.push(script);
      }
      continue;
    }
    merged.push(write);
  }
  return merged;
}
