import type Redis from 'ioredis';

/** How long a claimed fact may stay "being written" before another attempt may take over. */
export const CLAIM_MS = 15_000;
/** How long a written fact is remembered, so a late retry is still recognised. */
const REMEMBER_S = 30 * 24 * 3600;

/** Prolongs a claim only while it is still "being written" (never shortens a written fact's memory). */
const EXTEND_PENDING = `if redis.call('GET', KEYS[1]) == 'pending' then return redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return 0`;

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
 * the same steps for a batch of facts (the gateway's FactBatcher), each one pipeline of
 * single-key commands: no command or script touches two keys, so under Redis Cluster a
 * pipeline only has to be split by node, never a command by slot.
 */
export class FactClaims {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

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
   * Claims each fact for writing (`SET NX` with a CLAIM_MS expiry, one pipeline), then
   * reads the facts that were already claimed (`GET`, one pipeline) to tell a recorded
   * fact from one still being written. One state per id, in order.
   */
  async claimMany(ids: string[]): Promise<ClaimState[]> {
    if (ids.length === 0) return [];
    const set = this.redis.pipeline();
    for (const id of ids) set.set(this.key(id), 'pending', 'PX', CLAIM_MS, 'NX');
    const taken = replies(await set.exec());
    const states: ClaimState[] = taken.map((reply) => (reply === 'OK' ? 'claimed' : 'pending'));
    const others = ids.flatMap((id, i) => (states[i] === 'pending' ? [i] : []));
    if (others.length > 0) {
      const get = this.redis.pipeline();
      for (const i of others) get.get(this.key(ids[i]));
      replies(await get.exec()).forEach((value, j) => {
        if (value === 'done') states[others[j]] = 'done';
      });
    }
    return states;
  }

  /** The facts are in Kafka: their claims become "recorded" for REMEMBER_S (one pipeline of `SET EX`). */
  async confirmMany(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.set(this.key(id), 'done', 'EX', REMEMBER_S);
    replies(await pipeline.exec());
  }

  /** The facts were not written: a retry may claim them at once (one pipeline of `DEL`). */
  async releaseMany(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.del(this.key(id));
    replies(await pipeline.exec());
  }

  /**
   * The facts are still being written (a send past its deadline that Kafka may yet
   * accept): their claims stay "being written" for another CLAIM_MS, so that no retry
   * writes them a second time meanwhile. A single-key script per fact.
   */
  async extendMany(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.eval(EXTEND_PENDING, 1, this.key(id), CLAIM_MS);
    replies(await pipeline.exec());
  }
}

/** A pipeline's replies; the first error is thrown. */
function replies(results: Array<[Error | null, unknown]> | null): unknown[] {
  return (results ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
