import type Redis from 'ioredis';

/**
 * The projector's Lua scripts: each is one atomic, idempotent write, so that applying an
 * event twice, or two projectors racing during a rebuild hand-over, changes nothing.
 */
export const SCRIPTS = {
  /** KEYS[1] doc; ARGV version, json. Writes a versioned document unless Redis holds that version or newer. */
  lmSetDoc: {
    numberOfKeys: 1,
    lua: `
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current).version >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`,
  },
  /**
   * KEYS[1] feed zset; ARGV feedSeq, item json. Appends a feed item above the head (the
   * highest score; one key, so one Redis Cluster slot): 1 appended, 0 already there, 2
   * appended after a gap (a bug upstream).
   */
  lmAppendFeed: {
    numberOfKeys: 1,
    lua: `
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local head = tonumber(last[2] or '0')
local seq = tonumber(ARGV[1])
if seq <= head then return 0 end
redis.call('ZADD', KEYS[1], seq, ARGV[2])
if seq == head + 1 then return 1 end
return 2`,
  },
  /** KEYS[1] hash; ARGV field, number. Keeps the largest number seen per field (order-independent). */
  lmHashMax: {
    numberOfKeys: 1,
    lua: `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end
return 0`,
  },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** Registers the scripts as ioredis commands (EVALSHA with EVAL fallback) once per client. */
export function defineScripts(redis: Redis): Redis {
  for (const [name, { numberOfKeys, lua }] of Object.entries(SCRIPTS)) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  }
  return redis;
}
