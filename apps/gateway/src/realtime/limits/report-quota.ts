import type Redis from 'ioredis';

/** Takes one slot of the hour if any is left: the count after taking it, or -1. */
const RESERVE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return -1 end
used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('EXPIRE', KEYS[1], 3600) end
return used
`;

/**
 * Field reports per terminal per clock hour (TERMINAL_REPORTS_PER_HOUR), counted in
 * Redis so that every gateway shares the count. A slot is reserved before the report is
 * written and released if nothing new was written (a refusal, a duplicate, a failure).
 */
export class ReportQuota {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly perHour: number,
  ) {}

  async reserve(terminalId: string, now = Date.now()): Promise<{ release(): Promise<void> } | undefined> {
    const key = `${this.prefix}limits:reports:${terminalId}:${Math.floor(now / 3_600_000)}`;
    const used = (await this.redis.eval(RESERVE, 1, key, this.perHour)) as number;
    if (used < 0) return undefined;
    return { release: async () => void (await this.redis.decr(key)) };
  }
}
