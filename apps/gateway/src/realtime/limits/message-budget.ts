/** Token-bucket settings of client → server messages (TERMINAL_MESSAGE_* in config). */
export interface BudgetLimits {
  /** Tokens added per second. */
  rate: number;
  /** Bucket size: messages that may arrive at once. */
  burst: number;
  /** Refused messages in a row after which the sender is cut off. */
  strikes: number;
}

export type BudgetVerdict = 'ok' | 'rate-limited' | 'flooding';

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms, monotonic). */
  at: number;
  /** Refusals since the last accepted message. */
  strikes: number;
}

/**
 * How many messages each terminal may send (docs/security.md): one token bucket per
 * terminal id, shared by all of its sockets on this gateway. Each item of a message
 * costs one token. A refused message answers `rate-limited`; a sender that keeps going
 * after `strikes` refusals in a row is `flooding` and gets disconnected. O(1) per message,
 * no I/O; buckets that are full again (as good as new) are dropped by `sweep`.
 */
export class MessageBudget {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: BudgetLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  take(terminalId: string, cost = 1): BudgetVerdict {
    const bucket = this.bucket(terminalId);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      bucket.strikes = 0;
      return 'ok';
    }
    return this.strike(bucket);
  }

  /**
   * A message of `wanted` items (`receipts`): takes a token for each of as many of them as
   * there are whole tokens, in order. `granted` items may go ahead and the others are
   * refused as rate-limited; the message counts as accepted when at least one item got a
   * token, and as refused (a strike) when none did.
   */
  takeUpTo(terminalId: string, wanted: number): { granted: number; verdict: BudgetVerdict } {
    const bucket = this.bucket(terminalId);
    const granted = Math.max(0, Math.min(wanted, Math.floor(bucket.tokens)));
    if (granted >= 1) {
      bucket.tokens -= granted;
      bucket.strikes = 0;
      return { granted, verdict: 'ok' };
    }
    return { granted: 0, verdict: this.strike(bucket) };
  }

  /** The terminal's bucket, refilled up to now. */
  private bucket(terminalId: string): Bucket {
    const now = this.now();
    let bucket = this.buckets.get(terminalId);
    if (!bucket) {
      bucket = { tokens: this.limits.burst, at: now, strikes: 0 };
      this.buckets.set(terminalId, bucket);
    } else {
      bucket.tokens = Math.min(this.limits.burst, bucket.tokens + ((now - bucket.at) / 1_000) * this.limits.rate);
      bucket.at = now;
    }
    return bucket;
  }

  private strike(bucket: Bucket): BudgetVerdict {
    bucket.strikes += 1;
    return bucket.strikes > this.limits.strikes ? 'flooding' : 'rate-limited';
  }

  /** Forgets buckets that have refilled completely: a new one would be identical. */
  sweep(): void {
    const now = this.now();
    for (const [id, bucket] of this.buckets) {
      const tokens = bucket.tokens + ((now - bucket.at) / 1_000) * this.limits.rate;
      if (tokens >= this.limits.burst) this.buckets.delete(id);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
