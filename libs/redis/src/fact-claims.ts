import type Redis from 'ioredis';

/** How long a claimed fact may stay "being written" before another attempt may take over. */
const CLAIM_MS = 15_000;
/** How long a written fact is remembered, so a late retry is still recognised. */
const REMEMBER_S = 30 * 24 * 3600;

export class FactInFlight extends Error {
  constructor() {
    super('the same fact is being recorded by another request; retry shortly');
  }
}

/**
 * Writes each fact once, whichever instance a retry reaches: a Redis claim on the fact's
 * deterministic id (`SET NX`) makes a resend answer "already recorded" instead of writing
 * again. The claim becomes permanent only after `write` succeeded (Kafka has the fact); if
 * the write fails, it is released. Keys: `<prefix>activity:<fact id>`.
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
}
