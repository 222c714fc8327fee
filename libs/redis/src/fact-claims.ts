import calculateSlot from 'cluster-key-slot';
import type Redis from 'ioredis';
import { pipelineReplies } from './pipeline-replies';

/** How long a claimed fact may stay "being written" before another attempt may take over. */
export const CLAIM_MS = 15_000;
/** How long a written fact is remembered, so a late retry is still recognised. */
const REMEMBER_S = 30 * 24 * 3600;

/** Most facts per script call (a call runs alone in Redis: 1,000 `SET`s take about a millisecond). */
const KEYS_PER_CALL = 1_000;

/**
 * The batch scripts, each over all its facts' keys (KEYS; every key declared, no other
 * touched): one command for a batch instead of one per fact, which cost the gateway an
 * ioredis command object, a promise and its own RESP encoding per fact and per stage.
 */
const SCRIPTS = {
  /** ARGV claim ms. Per key: 0 claimed now (`SET NX PX`), 1 held by another request, 2 recorded (`done`). */
  lmClaimFacts: `
local states = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, 'pending', 'PX', ARGV[1], 'NX') then states[i] = 0
  elseif redis.call('GET', key) == 'done' then states[i] = 2
  else states[i] = 1 end
end
return states`,
  /** ARGV seconds. Every key becomes `done` for that long. */
  lmConfirmFacts: `
for _, key in ipairs(KEYS) do redis.call('SET', key, 'done', 'EX', ARGV[1]) end
return #KEYS`,
  /** ARGV claim ms. Prolongs each claim only while it is still "being written" (never shortens a written fact's memory). */
  lmExtendFacts: `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == 'pending' then redis.call('PEXPIRE', key, ARGV[1]) end
end
return #KEYS`,
};
type ScriptName = keyof typeof SCRIPTS;
type BatchScript = (numberOfKeys: number, ...keysAndArgs: Array<string | number>) => Promise<unknown>;

const STATES: ClaimState[] = ['claimed', 'pending', 'done'];

export class FactInFlight extends Error {
  constructor() {
    super('the same fact is being recorded by another request; retry shortly');
  }
}

/**
 * Where a claim attempt left a fact: `claimed` (ours to write now), `done` (already
 * recorded: a resend) or `pending` (being written by another request, or released a
 * moment ago: try again shortly).
 */
export type ClaimState = 'claimed' | 'done' | 'pending';

/**
 * Writes each fact once, whichever instance a retry reaches: a Redis claim on the fact's
 * deterministic id (`SET NX`) makes a resend answer "already recorded" instead of writing
 * again. The claim becomes permanent only after `write` succeeded (Kafka has the fact); if
 * the write fails, it is released. Keys: `<prefix>activity:<fact id>`.
 *
 * `once` claims one fact around one write (the report route). The `…Many` methods are
 * the same steps for a batch of facts (the gateway's FactBatcher): one Lua script call
 * per 1,000 facts (SCRIPTS), all in one round trip. The scripts declare every key they
 * touch. The keys carry no hash tag (they are the keys `once` and earlier versions
 * wrote, so a resend of an older fact is still recognised), so on a Redis Cluster the
 * calls are split by slot (`groups`): every script and multi-key command touches one
 * slot, at the price of about one call per fact there (a tag per shard of fact ids would
 * restore the batching; it needs a key migration).
 */
export class FactClaims {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, { lua });
    }
  }

  /**
   * The facts' keys in groups of at most KEYS_PER_CALL that one call may touch together:
   * any on a single Redis, one slot's on a Cluster. Each group keeps the facts' order;
   * `order` lists the facts' indexes group after group.
   */
  private groups(ids: string[]): { keys: string[][]; order: number[] } {
    const bySlot = new Map<number, number[]>();
    ids.forEach((id, i) => {
      const slot = this.redis.isCluster ? calculateSlot(this.key(id)) : 0;
      const list = bySlot.get(slot) ?? [];
      list.push(i);
      bySlot.set(slot, list);
    });
    const keys: string[][] = [];
    const order: number[] = [];
    for (const indexes of bySlot.values()) {
      for (let from = 0; from < indexes.length; from += KEYS_PER_CALL) {
        const chunk = indexes.slice(from, from + KEYS_PER_CALL);
        keys.push(chunk.map((i) => this.key(ids[i]!)));
        order.push(...chunk);
      }
    }
    return { keys, order };
  }

  /** Runs a batch script over the facts' keys (groups of them) in one pipeline; one reply per fact, in order. */
  private async batch(script: ScriptName, ids: string[], arg: number): Promise<unknown[]> {
    const pipeline = this.redis.pipeline();
    const call = (pipeline as unknown as Record<ScriptName, BatchScript>)[script].bind(pipeline);
    const { keys, order } = this.groups(ids);
    for (const group of keys) void call(group.length, ...group, arg);
    const perKey = pipelineReplies(await pipeline.exec()).flatMap((reply) => (Array.isArray(reply) ? reply : []));
    const inOrder: unknown[] = new Array(ids.length);
    order.forEach((index, i) => (inOrder[index] = perKey[i]));
    return inOrder;
  }

  private key(id: string): string {
    return `${this.prefix}activity:${id}`;
  }

  /** Whether the fact with this id was already recorded. */
  async recorded(id: string): Promise<boolean> {
    return (await this.redis.get(this.key(id))) === 'done';
  }

  /** Runs `write` unless the fact was recorded; `duplicate` when it was. */
  async once(id: string, write: () => Promise<void>): Promise<{ duplicate: boolean }> {
    const claim = this.key(id);
    // The same fact sent twice at once: the second waits for the first to finish (or to
    // fail and release the claim, in which case it writes the fact itself).
    for (const deadline = Date.now() + CLAIM_MS; ;) {
      if ((await this.redis.set(claim, 'pending', 'PX', CLAIM_MS, 'NX')) === 'OK') break;
      if ((await this.redis.get(claim)) === 'done') return { duplicate: true };
      if (Date.now() > deadline) throw new FactInFlight();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    try {
      await write();
    } catch (error) {
      await this.redis.del(claim).catch(() => undefined);
      throw error;
    }
    await this.redis.set(claim, 'done', 'EX', REMEMBER_S);
    return { duplicate: false };
  }

  /**
   * Claims each fact for writing (`SET NX` with a CLAIM_MS expiry) and, for a fact
   * already claimed, tells a recorded one from one still being written: one state per
   * id, in order, from one round trip.
   */
  async claimMany(ids: string[]): Promise<ClaimState[]> {
    if (ids.length === 0) return [];
    return (await this.batch('lmClaimFacts', ids, CLAIM_MS)).map((state) => STATES[state as number]!);
  }

  /** The facts are in Kafka: their claims become "recorded" for REMEMBER_S (`SET EX`). */
  async confirmMany(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.batch('lmConfirmFacts', ids, REMEMBER_S);
  }

  /** The facts were not written: a retry may claim them at once (one `DEL` per KEYS_PER_CALL facts). */
  async releaseMany(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const group of this.groups(ids).keys) pipeline.del(...group);
    pipelineReplies(await pipeline.exec());
  }

  /**
   * The facts are still being written (a send past its deadline that Kafka may yet
   * accept): their claims stay "being written" for another CLAIM_MS, so that no retry
   * writes them a second time meanwhile.
   */
  async extendMany(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.batch('lmExtendFacts', ids, CLAIM_MS);
  }
}
