import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import type Redis from 'ioredis';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { currentGeneration, RedisKeys } from '@lastmeter/read-models';
import { REDIS } from '@lastmeter/redis';

/** How long a gateway trusts its idea of the serving generation and whether it is whole. */
const GENERATION_TTL_MS = 250;
/** Retry-After of a read while the read models are re-projected. */
export const RECOVERING_RETRY_AFTER_S = 5;

/**
 * Thrown by `ReadModels.keys()` while the serving generation is not whole (Redis lost
 * data, the projectors re-project it): a 503 with Retry-After over HTTP, a refused
 * handshake on a socket. Never an empty board, and never a revoked terminal let in
 * because its record is gone.
 */
export class ReadModelsRecovering extends ServiceUnavailableException {
  constructor() {
    super({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'read models are being rebuilt after Redis lost data; retry shortly',
      retryAfter: RECOVERING_RETRY_AFTER_S,
    });
  }
}

/**
 * The serving generation's keys; after `lastmeter rebuild` switches, reads follow within
 * 250 ms. While the projectors re-project a Redis that lost data (`recovering`), or once
 * the generation this gateway has seen whole is no longer marked `intact`, it throws
 * ReadModelsRecovering instead.
 */
@Injectable()
export class ReadModels {
  private cached?: { keys: RedisKeys; until: number; whole: boolean };
  /** Generations seen whole: their `intact` going missing is a loss, not a new deployment. */
  private readonly seenWhole = new Set<string>();

  constructor(
    @Inject(REDIS) readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: SharedConfig,
  ) {}

  async keys(): Promise<RedisKeys> {
    const now = Date.now();
    let cached = this.cached;
    if (!cached || cached.until <= now) {
      const generation = await currentGeneration(this.redis, this.config.REDIS_KEY_PREFIX);
      const keys =
        cached?.keys.generation === generation ? cached.keys : new RedisKeys(this.config.REDIS_KEY_PREFIX, generation);
      const [intact, recovering] = await this.redis.mget(keys.intact, keys.recovering);
      if (intact) this.seenWhole.add(generation);
      const whole = !recovering && (intact !== null || !this.seenWhole.has(generation));
      cached = this.cached = { keys, until: now + GENERATION_TTL_MS, whole };
    }
    if (!cached.whole) throw new ReadModelsRecovering();
    return cached.keys;
  }
}
