import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { STAFF_PIN_MAX_FAILURES } from '@lastmeter/contracts';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { RedisKeys, staffLockKey } from '@lastmeter/read-models';
import { REDIS } from '@lastmeter/redis';

/** Wrong PINs one tablet may enter, across all staff, per window, before it must wait. */
export const TERMINAL_PIN_FAILURES = 20;
const TERMINAL_WINDOW_S = 600;

/**
 * Wrong PINs (issue 21), in Redis like the login throttle: nothing of it is a fact of the
 * log. A person is locked after STAFF_PIN_MAX_FAILURES wrong PINs in a row (a right one
 * resets the count) until a manager unlocks them; a tablet that enters too many wrong
 * PINs across its staff waits (429), so it cannot guess everyone's.
 */
@Injectable()
export class PinAttempts {
  private readonly keys: RedisKeys;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: SharedConfig,
  ) {
    this.keys = new RedisKeys(config.REDIS_KEY_PREFIX);
  }

  private failuresKey(staffId: string): string {
    return this.keys.meta(`staff-pin-failures:${staffId}`);
  }

  private terminalKey(terminalId: string): string {
    return this.keys.meta(`staff-pin-terminal:${terminalId}`);
  }

  locked(staffId: string): Promise<boolean> {
    return this.redis.exists(staffLockKey(this.keys, staffId)).then((n) => n === 1);
  }

  /** Seconds the tablet must wait, or 0. */
  async terminalWait(terminalId: string): Promise<number> {
    const [count, ttl] = await Promise.all([
      this.redis.get(this.terminalKey(terminalId)),
      this.redis.ttl(this.terminalKey(terminalId)),
    ]);
    return Number(count ?? 0) >= TERMINAL_PIN_FAILURES ? Math.max(1, ttl) : 0;
  }

  /** Counts a wrong PIN; the attempts left before the lock (0: locked now). */
  async failed(staffId: string, terminalId: string): Promise<number> {
    const [[, failures]] = (await this.redis
      .multi()
      .incr(this.failuresKey(staffId))
      .incr(this.terminalKey(terminalId))
      .expire(this.terminalKey(terminalId), TERMINAL_WINDOW_S, 'NX')
      .exec())! as [[Error | null, number], ...unknown[]];
    if (failures >= STAFF_PIN_MAX_FAILURES) {
      await this.redis.set(staffLockKey(this.keys, staffId), new Date().toISOString());
      return 0;
    }
    return STAFF_PIN_MAX_FAILURES - failures;
  }

  async succeeded(staffId: string): Promise<void> {
    await this.redis.del(this.failuresKey(staffId));
  }

  /** Whether the person was locked. */
  async unlock(staffId: string): Promise<boolean> {
    const [[, removed]] = (await this.redis
      .multi()
      .del(staffLockKey(this.keys, staffId))
      .del(this.failuresKey(staffId))
      .exec())! as [[Error | null, number], ...unknown[]];
    return removed === 1;
  }
}
