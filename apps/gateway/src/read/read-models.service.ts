import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { currentGeneration, RedisKeys } from '@lastmeter/read-models';
import { REDIS } from '@lastmeter/redis';

/** How long a gateway trusts its idea of the serving generation. */
const GENERATION_TTL_MS = 250;

/** The serving generation's keys; after `lastmeter rebuild` switches, reads follow within 250 ms. */
@Injectable()
export class ReadModels {
  private cached?: { keys: RedisKeys; until: number };

  constructor(
    @Inject(REDIS) readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: SharedConfig,
  ) {}

  async keys(): Promise<RedisKeys> {
    const now = Date.now();
    if (this.cached && this.cached.until > now) return this.cached.keys;
    const generation = await currentGeneration(this.redis, this.config.REDIS_KEY_PREFIX);
    const keys =
      this.cached?.keys.generation === generation
        ? this.cached.keys
        : new RedisKeys(this.config.REDIS_KEY_PREFIX, generation);
    this.cached = { keys, until: now + GENERATION_TTL_MS };
    return keys;
  }
}
