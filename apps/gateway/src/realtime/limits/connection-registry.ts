import type Redis from 'ioredis';

/**
 * Registers a socket of a terminal and answers which of its sockets are over the cap,
 * oldest first (they are removed from the set here). One round trip, atomic, so two
 * gateways accepting the same terminal at once still keep at most `max`.
 */
const REGISTER = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if over <= 0 then return {} end
local dropped = redis.call('ZRANGE', KEYS[1], 0, over - 1)
redis.call('ZREM', KEYS[1], unpack(dropped))
return dropped
`;

/** How long a terminal's socket set outlives its last connect (crashed gateways leave entries). */
const TTL_S = 24 * 3600;

/**
 * Live sockets per terminal id across every gateway (TERMINAL_MAX_SOCKETS), in a Redis
 * sorted set by connect time: a new connection beyond the cap drops the oldest. Entries
 * of a gateway that crashed are dropped as "oldest" in time (a no-op) or expire.
 */
export class ConnectionRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(terminalId: string): string {
    return `${this.prefix}sockets:terminal:${terminalId}`;
  }

  /** Adds `ref` (gateway id / socket id); returns the refs to disconnect. */
  async register(terminalId: string, ref: string, max: number, at = Date.now()): Promise<string[]> {
    return (await this.redis.eval(REGISTER, 1, this.key(terminalId), at, ref, max, TTL_S)) as string[];
  }

  async unregister(terminalId: string, ref: string): Promise<void> {
    await this.redis.zrem(this.key(terminalId), ref);
  }
}
