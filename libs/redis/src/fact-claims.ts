import type Redis from 'ioredis';

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
 * touch; the keys carry no hash tag (they are the keys `once` and earlier versions
 * wrote, so a resend of an older fact is still recognised), so under Redis Cluster a
 * call would have to be split by slot, or the keys given one tag per deployment.
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

  /** Runs a batch script over the facts' keys, KEYS_PER_CALL at a time in one pipeline; the replies in order. */
  private async batch(script: ScriptName, ids: string[], arg: number): Promise<unknown[]> {
    const pipeline = this.redis.pipeline();
    const call = (pipeline as unknown as Record<ScriptName, BatchScript>)[script].bind(pipeline);
    for (let from = 0; from < ids.length; from += KEYS_PER_CALL) {
      const keys = ids.slice(from, from + KEYS_PER_CALL).map((id) => this.key(id));
      void call(keys.length, ...keys, arg);
    }
    return replies(await pipeline.exec());
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
    return (await this.batch('lmClaimFacts', ids, CLAIM_MS)).flatMap((states) =>
      (states as number[]).map((state) => STATES[state]),
    );
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
    for (let from = 0; from < ids.length; from += KEYS_PER_CALL) {
      pipeline.del(...ids.slice(from, from + KEYS_PER_CALL).map((id) => this.key(id)));
    }
    replies(await pipeline.exec());
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

/** A pipeline's replies; the first error is thrown. */
function replies(results: Array<[Error | null, unknown]> | null): unknown[] {
  return (results ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
