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
   * KEYS[1] feed zset; ARGV feedSeq, item json, and `gap` to append above a gap. Appends a
   * feed item right above the head (the highest score; one key, so one Redis Cluster
   * slot): 1 appended, 0 already there, 3 refused because the items between are missing.
   * A Redis that lost the last appends (a failover) must not get the next one above the
   * hole: re-projected from its position, the lost items could never come back below it.
   * With `gap` (the projector knows Redis lost nothing: a gap in the log, a bug upstream)
   * it appends anyway and returns 2.
   */
  lmAppendFeed: {
    numberOfKeys: 1,
    lua: `
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local head = tonumber(last[2] or '0')
local seq = tonumber(ARGV[1])
if seq <= head then return 0 end
if seq == head + 1 then redis.call('ZADD', KEYS[1], seq, ARGV[2]) return 1 end
if ARGV[3] ~= 'gap' then return 3 end
redis.call('ZADD', KEYS[1], seq, ARGV[2])
return 2`,
  },
  /** KEYS[1] string; ARGV number. Keeps the largest number written (order-independent). */
  lmMax: {
    numberOfKeys: 1,
    lua: `
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) return 1 end
return 0`,
  },
  /** KEYS[1] hash; ARGV field, number. Keeps the largest number seen per field (order-independent). */
  lmHashMax: {
    numberOfKeys: 1,
    lua: `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end
return 0`,
  },
  /**
   * KEYS[1] `{dir}:reach:<comm>` (hash store → bits of the counted steps), KEYS[2]
   * `{dir}:reach:<comm>:by-region` (hash `<step>:<region>` → stores), KEYS[3] `{dir}:region-of`,
   * KEYS[4] `{dir}:reach-comms`, KEYS[5] `{dir}:reach-stores`; ARGV store id, step bit,
   * step name, communication id. Counts a store once per step, in its current region
   * (`unknown` until the directory knows it): 1 counted, 0 already counted (a redelivery).
   * Every key is on the directory index's slot, so the region read and the count are atomic
   * with `lmStoreRegion` moving the store.
   */
  lmReachStore: {
    numberOfKeys: 5,
    lua: `
local mask = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local bit = tonumber(ARGV[2])
if math.floor(mask / bit) % 2 == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], mask + bit)
local region = redis.call('HGET', KEYS[3], ARGV[1]) or 'unknown'
redis.call('HINCRBY', KEYS[2], ARGV[3] .. ':' .. region, 1)
if mask == 0 then
  redis.call('SADD', KEYS[4], ARGV[4])
  redis.call('SADD', KEYS[5], ARGV[1])
end
return 1`,
  },
  /**
   * `lmReachStore` for many stores and steps of one communication in one call (a batch of
   * receipts, `foldScripts` in projection.ts): the same five KEYS; ARGV the communication
   * id, then `store id, step bit, step name` triplets, applied in order exactly as that
   * many `lmReachStore` calls would be. Returns how many counted.
   */
  lmReachStores: {
    numberOfKeys: 5,
    lua: `
local counted = 0
for i = 2, #ARGV, 3 do
  local store = ARGV[i]
  local mask = tonumber(redis.call('HGET', KEYS[1], store) or '0')
  local bit = tonumber(ARGV[i + 1])
  if math.floor(mask / bit) % 2 == 0 then
    redis.call('HSET', KEYS[1], store, mask + bit)
    local region = redis.call('HGET', KEYS[3], store) or 'unknown'
    redis.call('HINCRBY', KEYS[2], ARGV[i + 2] .. ':' .. region, 1)
    if mask == 0 then
      redis.call('SADD', KEYS[4], ARGV[1])
      redis.call('SADD', KEYS[5], store)
    end
    counted = counted + 1
  end
end
return counted`,
  },
  /**
   * KEYS[1] hash; ARGV field, number, field, number… `lmHashMax` of each pair in order:
   * a batch's revisions of one communication in one command.
   */
  lmHashMaxMany: {
    numberOfKeys: 1,
    lua: `
local raised = 0
for i = 1, #ARGV, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 1]) > current then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    raised = raised + 1
  end
end
return raised`,
  },
  /**
   * KEYS[1] `{dir}:region-of`, KEYS[2] `{dir}:reach-stores`, KEYS[3] `{dir}:reach-comms`;
   * ARGV store id, region id, the key prefix of the per-communication reach hashes (same
   * slot), then the counted step names in bit order. Records the store's region and, if
   * it changed and the store has reach, moves its counts in every communication from the
   * old region (`unknown` if none) to the new one; a count that falls to 0 is deleted, so
   * the counters are the same whatever order stores and receipts were projected in.
   */
  lmStoreRegion: {
    numberOfKeys: 3,
    lua: `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return 1 end
local from = old or 'unknown'
for _, comm in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local mask = tonumber(redis.call('HGET', ARGV[3] .. comm, ARGV[1]) or '0')
  if mask > 0 then
    local counts = ARGV[3] .. comm .. ':by-region'
    for i = 4, #ARGV do
      local bit = 2 ^ (i - 4)
      if math.floor(mask / bit) % 2 == 1 then
        if redis.call('HINCRBY', counts, ARGV[i] .. ':' .. from, -1) <= 0 then
          redis.call('HDEL', counts, ARGV[i] .. ':' .. from)
        end
        redis.call('HINCRBY', counts, ARGV[i] .. ':' .. ARGV[2], 1)
      end
    end
  end
end
return 2`,
  },
  /**
   * KEYS[1] hash; ARGV field, value, field, value… `HSETNX` of each pair in order (the
   * first value of a field wins, as separate HSETNXs would): a batch's receipts of one
   * communication and step in one command (`mergeHashSetNx` in projection.ts).
   */
  lmHashSetNx: {
    numberOfKeys: 1,
    lua: `
local added = 0
for i = 1, #ARGV, 2 do added = added + redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
return added`,
  },
  /**
   * KEYS[1] a projector position (`RedisKeys.position`); ARGV the new position, and
   * optionally the offset it continues from. Raises the position, never lowers it (a
   * stale batch of a rebalance cannot move it back); with a `from`, only if the position
   * is already there (a batch of transaction markers only: nothing before it may be
   * missing). 1 raised, 0 not.
   */
  /**
   * KEYS[1] `survey:{<comm>}:ids` (set of answer ids), KEYS[2] `survey:{<comm>}:counts`
   * (hash); ARGV answer id, store id, then field/value pairs (an empty value counts the
   * field up, any other is written). Counts one anonymous answer once (issue 21): 1
   * counted, 0 a redelivery. Both keys share the communication's hash tag.
   */
  lmSurveyAnswer: {
    numberOfKeys: 2,
    lua: `
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], 'n:' .. ARGV[2], 1)
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HINCRBY', KEYS[2], ARGV[i], 1) else redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
end
return 1`,
  },
  /**
   * KEYS[1] a projector position, KEYS[2] its fence (`RedisKeys.fence`); ARGV the offset to
   * raise it to, the position it must be at least (`''`: any), the token the fence must
   * hold (`''`: none). Raises a position (never lowers it) only if Redis still holds what
   * it was written over: 1 raised, 0 already there, -1 refused. A failover loses a suffix
   * of what the old master acknowledged, and the runner's next writes go to the new master:
   * a position below what this runner last raised it to, or a fence without the token its
   * batch's first pipeline ended with, means writes the new position would cover are gone.
   */
  lmPosition: {
    numberOfKeys: 2,
    lua: `
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if ARGV[2] ~= '' and math.max(current, 0) < tonumber(ARGV[2]) then return -1 end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return -1 end
if tonumber(ARGV[1]) <= current then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1`,
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

/**
 * `lmPosition` on a client with the scripts defined: raises a projector position, only if
 * it is at least `from` (and the fence holds `token`, when given). 1 raised, 0 already
 * there, -1 refused.
 */
export function raisePosition(
  redis: Redis,
  keys: { position: string; fence: string },
  to: number,
  from: number | string = '',
  token = '',
): Promise<number> {
  const scripts = defineScripts(redis) as unknown as Record<
    'lmPosition',
    (...args: Array<string | number>) => Promise<number>
  >;
  return scripts.lmPosition(keys.position, keys.fence, to, from, token);
}
