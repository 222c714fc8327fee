import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type Redis from 'ioredis';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { createRedisClient } from './redis-client';

const CHECK_TIMEOUT_MS = 1_500;

/**
 * Readiness: Redis answers PING. Its own connection has no offline queue, so while
 * Redis is away the check fails at once instead of waiting in a queue.
 */
@Injectable()
export class RedisHealthIndicator implements OnModuleDestroy {
  private readonly client: Redis;

  constructor(
    @Inject(APP_CONFIG) config: SharedConfig,
    private readonly health: HealthIndicatorService,
  ) {
    this.client = createRedisClient(config.REDIS_URL, 'lastmeter-health', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
    });
    this.client.on('error', () => undefined); // state is reported by the check itself
  }

  async isHealthy(key = 'redis') {
    const check = this.health.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      const pong = await Promise.race([
        this.client.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no PONG within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
        }),
      ]);
      return pong === 'PONG' ? check.up() : check.down({ message: `unexpected reply ${pong}` });
    } catch (error) {
      return check.down({ message: (error as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }

  onModuleDestroy(): void {
    this.client.disconnect();
  }
}
