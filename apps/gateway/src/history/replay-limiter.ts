/** Why a replay was refused: the caller's own limit or the whole gateway's. */
export interface ReplayRefusal {
  scope: 'user' | 'gateway';
  limit: number;
}

/** A held slot; `release` is idempotent. */
export interface ReplaySlot {
  release(): void;
}

/**
 * Concurrent replays of one gateway process: at most `perUser` per user (token subject)
 * and `perGateway` in all. A slot is taken before any Kafka work and released when the
 * replay is over, however it ends. In memory, per process: each gateway protects itself.
 */
export class ReplayLimiter {
  private readonly byUser = new Map<string, number>();
  private total = 0;

  constructor(
    readonly perUser: number,
    readonly perGateway: number,
  ) {}

  /** Replays running now. */
  get active(): number {
    return this.total;
  }

  acquire(user: string): ReplaySlot | ReplayRefusal {
    const mine = this.byUser.get(user) ?? 0;
    if (mine >= this.perUser) return { scope: 'user', limit: this.perUser };
    if (this.total >= this.perGateway) return { scope: 'gateway', limit: this.perGateway };
    this.byUser.set(user, mine + 1);
    this.total++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.byUser.get(user) ?? 1) - 1;
        if (left > 0) this.byUser.set(user, left);
        else this.byUser.delete(user);
      },
    };
  }
}
