import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type Redis from 'ioredis';
import type { Request } from 'express';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { REDIS } from '@lastmeter/redis';
import { LOGIN_THROTTLERS, loginUsername } from './login-throttler.guard';

const MINUTE_MS = 60_000;

/** Storage that puts the deployment's key prefix in front of every throttle key. */
class PrefixedRedisStorage extends ThrottlerStorageRedisService {
  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    super(redis);
  }

  override increment(key: string, ttl: number, limit: number, blockDuration: number, name: string) {
    return super.increment(`${this.prefix}${key}`, ttl, limit, blockDuration, name);
  }
}

/** The client address (Express's `req.ip`, which honours TRUST_PROXY). */
const clientAddress = (req: Record<string, unknown>) => (req as unknown as Request).ip ?? 'unknown';

/** Login rate limits shared by all command instances (Redis); see LoginThrottlerGuard. */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [REDIS, APP_CONFIG],
      useFactory: (redis: Redis, config: AppConfig<'command'>) => ({
        throttlers: [
          {
            name: LOGIN_THROTTLERS.perIp,
            ttl: MINUTE_MS,
            limit: config.LOGIN_LIMIT_PER_IP,
            getTracker: clientAddress,
          },
          {
            name: LOGIN_THROTTLERS.perUsername,
            ttl: MINUTE_MS,
            limit: config.LOGIN_LIMIT_PER_USERNAME,
            getTracker: (req: Record<string, unknown>) => loginUsername(req as unknown as Request),
          },
          {
            // Enrollment codes are guessed per address; a provisioning script enrolling a
            // store's tablets in a row needs more room than a person logging in.
            name: LOGIN_THROTTLERS.enrollPerIp,
            ttl: MINUTE_MS,
            limit: config.ENROLL_LIMIT_PER_IP,
            getTracker: clientAddress,
          },
        ],
        storage: new PrefixedRedisStorage(redis, config.REDIS_KEY_PREFIX),
      }),
    }),
  ],
  exports: [ThrottlerModule],
})
export class ThrottlingModule {}
