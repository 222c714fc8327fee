import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type Redis from 'ioredis';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { createRedisClient } from './redis-client';
import { RedisHealthIndicator } from './redis.health';
import { REDIS } from './redis.tokens';

@Global()
@Module({
  imports: [TerminusModule],
  providers: [
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: SharedConfig): Redis => {
        const logger = new Logger('redis');
        const client = createRedisClient(config.REDIS_URL, `lastmeter-${config.KAFKA_CLIENT_ID}`);
        let down = false;
        client.on('error', (error: Error) => {
          if (!down) logger.warn(`connection lost: ${error.message}`);
          down = true;
        });
        client.on('ready', () => {
          if (down) logger.log('connection restored');
          down = false;
        });
        return client;
      },
    },
    RedisHealthIndicator,
  ],
  exports: [REDIS, RedisHealthIndicator],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
