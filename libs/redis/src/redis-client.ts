import Redis, { type RedisOptions } from 'ioredis';
import { parseSentinelUrl } from '@lastmeter/config';
import { coalesceWrites } from './coalesced-writes';

/**
 * The one place an ioredis client is constructed. Reconnects forever with a short, capped
 * backoff so that a restarted Redis is picked up within a second; through Sentinel, a
 * promoted replica is found the same way. The commands of one tick leave in one write
 * (`coalesceWrites`).
 */
export function createRedisClient(url: string, name: string, options: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    connectionName: name,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
  };
  const sentinel = parseSentinelUrl(url);
  const client = sentinel
    ? new Redis({
        ...common,
        sentinels: sentinel.sentinels,
        name: sentinel.name,
        db: sentinel.db,
        sentinelRetryStrategy: (times) => Math.min(times * 100, 1_000),
        ...options,
      })
    : new Redis(url, { ...common, ...options });
  coalesceWrites(client);
  return client;
}
