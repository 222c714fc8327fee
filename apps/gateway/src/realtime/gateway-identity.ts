import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { readPresence, type OnlineTerminal, type RedisKeys } from '@lastmeter/read-models';
import { REDIS } from '@lastmeter/redis';

const HEARTBEAT_MS = 3_000;
/** A gateway not heard from for this long is gone, and so are the terminals it served. */
export const GATEWAY_TTL_MS = 15_000;

export function gatewaysKey(prefix: string): string {
  return `${prefix}gateways`;
}

/** Which gateways are alive (heartbeat within GATEWAY_TTL_MS) among `ids`. */
export async function liveGateways(
  redis: Redis,
  prefix: string,
  ids: string[],
  now = Date.now(),
): Promise<Set<string>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Set();
  const beats = await redis.hmget(gatewaysKey(prefix), ...unique);
  return new Set(unique.filter((_, i) => beats[i] !== null && now - Number(beats[i]) < GATEWAY_TTL_MS));
}

/**
 * Who is online per store: the presence read model, minus terminals whose gateway has
 * stopped beating (a crashed gateway never wrote their terminal.disconnected).
 */
export async function readLivePresence(
  redis: Redis,
  keys: RedisKeys,
  storeIds?: string[],
): Promise<Array<{ storeId: string; online: OnlineTerminal[] }>> {
  const stores = await readPresence(redis, keys, storeIds);
  const live = await liveGateways(
    redis,
    keys.prefix,
    stores.flatMap((s) => s.online.map((t) => t.gatewayId)),
  );
  return stores.map((s) => ({ ...s, online: s.online.filter((t) => live.has(t.gatewayId)) }));
}

/**
 * This gateway instance's id (carried by terminal.connected/disconnected) and its
 * heartbeat in Redis. Presence facts alone would keep a crashed gateway's terminals
 * online forever; readers drop terminals whose gateway stopped beating.
 */
@Injectable()
export class GatewayIdentity implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(GatewayIdentity.name);
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: SharedConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
  }

  private async beat(): Promise<void> {
    await this.redis
      .hset(gatewaysKey(this.config.REDIS_KEY_PREFIX), this.id, String(Date.now()))
      .catch((error: unknown) => this.logger.debug(`heartbeat missed: ${(error as Error).message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.hdel(gatewaysKey(this.config.REDIS_KEY_PREFIX), this.id).catch(() => undefined);
  }
}
