import Redis, { type RedisOptions } from 'ioredis';

/**
 * The one place an ioredis client is constructed. Reconnects forever with a short, capped
 * backoff so that a restarted Redis is picked up within a second.
 */
export function createRedisClient(url: string, name: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    connectionName: name,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
    ...options,
  });
}
