import type Redis from 'ioredis';
import { canonicalLocale, REACH_STEPS, type Audience, type TerminalView } from '@lastmeter/contracts';
import type { StoreState, TerminalState } from '@lastmeter/domain';
import type { ProjectionContext } from '../model';
import type { RedisKeys } from '../redis-keys';

/**
 * The directory index: what the console needs to page, search and count 50,000 stores
 * without reading every store document. Maintained by the directory model from the
 * difference between a store's (or terminal's) state before and after each event, so it
 * is a function of the current states: replaying an event changes nothing, and a rebuild
 * reproduces it. Every key carries one hash tag (`RedisKeys.index`), so the reads below
 * (HMGET after ZRANGEBYLEX, the count script) stay on one Redis Cluster slot.
 *
 * - `rows` (hash): store id → the store as JSON (the page's rows, one HMGET);
 * - `by-code`, `by-region:<regionId>`, `by-tag:<tag>` (lex zsets): `<code>\0<id>`;
 * - `search` (lex zset): `<term>\0<code>\0<id>` for the lower-case code and each
 *   lower-case word of the name (prefix search);
 * - `terminals:<storeId>` (set): its enrolled terminals (revoked ones leave it);
 * - `terminal-roles` (hash): terminal id → its store roles, comma-separated;
 * - `terminals` (lex zset): `<storeId>\0<terminalId>` for every terminal, and
 *   `terminal-rows` (hash): terminal id → the terminal as JSON;
 * - reach by region (written with the reach model, see `REACH_COUNTED`): `region-of`
 *   (hash): store id → its region; `reach:<communicationId>` (hash): store id → the bits
 *   of the counted steps it reached; `reach:<communicationId>:by-region` (hash):
 *   `<step>:<regionId>` → how many stores of the region reached the step (no 0s);
 *   `reach-comms` and `reach-stores` (sets): the communications and stores with any;
 * - `locale-of` (hash): store id → its locale, canonical (`fr-BE`): audience and reach by
 *   language (issue 22).
 */
export type StoreRow = Omit<StoreState, 'exists'>;

const SEP = '\u0000';
const SCAN_BATCH = 200;
/** At most this many index members are examined per page; a page may then come back short, with `next`. */
const SCAN_BUDGET = 5_000;

const member = (store: Pick<StoreState, 'code' | 'id'>) => `${store.code}${SEP}${store.id}`;

/** The search terms of a store: its code and each word of its name, lower case, distinct. */
export function searchTerms(store: Pick<StoreState, 'code' | 'name'>): string[] {
  const words = store.name.toLowerCase().split(/[^\p{L}\p{N}]+/u);
  return [...new Set([store.code.toLowerCase(), ...words].filter((term) => term.length > 0))];
}

function storeEntries(keys: RedisKeys, store: StoreState): Array<[string, string]> {
  if (!store.exists) return [];
  return [
    [keys.index('by-code'), member(store)],
    [keys.index('by-region', store.regionId), member(store)],
    ...store.tags.map((tag): [string, string] => [keys.index('by-tag', tag), member(store)]),
    ...searchTerms(store).map((term): [string, string] => [
      keys.index('search'),
      `${term}${SEP}${store.code}${SEP}${store.id}`,
    ]),
  ];
}

/** Queues the index writes that take a store from `before` to `after` (idempotent). */
export function indexStore(context: ProjectionContext, before: StoreState, after: StoreState): void {
  const { keys } = context;
  const wanted = new Set(storeEntries(keys, after).map(([key, value]) => `${key}\n${value}`));
  for (const [key, value] of storeEntries(keys, before)) {
    if (!wanted.has(`${key}\n${value}`)) context.write('ZREM', key, value);
  }
  for (const [key, value] of storeEntries(keys, after)) context.write('ZADD', key, 0, value);
  if (after.exists) {
    const { exists: _exists, ...row } = after;
    context.write('HSET', keys.index('rows'), after.id, JSON.stringify(row));
    // Stores by locale (audience and reach by language, issue 22), in canonical form.
    if (!before.exists || before.locale !== after.locale) {
      context.write('HSET', keys.index('locale-of'), after.id, canonicalLocale(after.locale) ?? after.locale);
    }
    if (!before.exists || before.regionId !== after.regionId) {
      context.script(
        'lmStoreRegion',
        keys.index('region-of'),
        keys.index('reach-stores'),
        keys.index('reach-comms'),
        after.id,
        after.regionId,
        keys.index('reach', ''),
        ...REACH_COUNTED,
      );
    }
  }
}

/**
 * The reach steps counted per region, in bit order (targeted 1, delivered 2, read 4,
 * acknowledged 8, completed 16). Counts live on the index's slot, next to the store →
 * region hash, so that counting a store (`countReach`, from the reach model) and moving a
 * store to another region (`indexStore`, from the directory model) are each one atomic
 * script on one Redis Cluster slot, in whichever order the topics are projected.
 */
export const REACH_COUNTED = ['targeted', ...REACH_STEPS] as const;
export type ReachCounted = (typeof REACH_COUNTED)[number];

/** Queues the count of one store for one step of a communication, once (a redelivery counts nothing). */
export function countReach(
  context: ProjectionContext,
  communicationId: string,
  storeId: string,
  step: ReachCounted,
): void {
  const { keys } = context;
  context.script(
    'lmReachStore',
    keys.index('reach', communicationId),
    keys.index('reach', communicationId, 'by-region'),
    keys.index('region-of'),
    keys.index('reach-comms'),
    keys.index('reach-stores'),
    storeId,
    2 ** REACH_COUNTED.indexOf(step),
    step,
    communicationId,
  );
}

export type RegionReachCounts = Map<string, Record<ReachCounted, number>>;

/** The counts of a group (a region, a locale) before any store of it is counted. */
function noReach(): Record<ReachCounted, number> {
  return Object.fromEntries(REACH_COUNTED.map((step) => [step, 0])) as Record<ReachCounted, number>;
}

/** Per region (`unknown`: not in the directory), how many stores reached each step: one HGETALL. */
export async function reachCountsByRegion(
  redis: Redis,
  keys: RedisKeys,
  communicationId: string,
): Promise<RegionReachCounts> {
  const fields = await redis.hgetall(keys.index('reach', communicationId, 'by-region'));
  const counts: RegionReachCounts = new Map();
  for (const [field, value] of Object.entries(fields)) {
    const at = field.indexOf(':');
    const step = field.slice(0, at) as ReachCounted;
    const regionId = field.slice(at + 1);
    if (!REACH_COUNTED.includes(step)) continue;
    let region = counts.get(regionId);
    if (!region) {
      region = noReach();
      counts.set(regionId, region);
    }
    region[step] = Number(value);
  }
  return counts;
}

/** Queues the index writes for a terminal: listed by store, counted in its store while enrolled. */
export function indexTerminal(context: ProjectionContext, after: TerminalState): void {
  if (!after.exists || !after.storeId) return;
  const { exists: _exists, ...row } = after;
  context.write('ZADD', context.keys.index('terminals'), 0, `${after.storeId}${SEP}${after.id}`);
  context.write('HSET', context.keys.index('terminal-rows'), after.id, JSON.stringify(row));
  const key = context.keys.index('terminals', after.storeId);
  if (after.status === 'enrolled') {
    context.write('HSET', context.keys.index('terminal-roles'), after.id, after.roles.join(','));
    context.write('SADD', key, after.id);
  } else {
    context.write('SREM', key, after.id);
  }
}

/** Whether every word of `q` (split on spaces) is a prefix of the store's code or of a word of its name. */
export function matchesSearch(store: Pick<StoreState, 'code' | 'name'>, q: string): boolean {
  const terms = searchTerms(store);
  return searchWords(q).every((word) => terms.some((term) => term.startsWith(word)));
}

const searchWords = (q: string) => q.toLowerCase().split(/\s+/).filter(Boolean);

export interface StoreQuery {
  /** Words, each a prefix of the code or of a word of the name, case-insensitive. */
  q?: string;
  regionId?: string;
  tag?: string;
  limit: number;
  cursor?: string;
}

export interface StorePage {
  items: StoreRow[];
  next?: string;
}

const encodeCursor = (value: string) => Buffer.from(value, 'utf8').toString('base64url');

/** The cursor's index member, or undefined if it is not one this index could have written. */
function decodeCursor(cursor: string): string | undefined {
  const value = Buffer.from(cursor, 'base64url').toString('utf8');
  return value.includes(SEP) && encodeCursor(value) === cursor ? value : undefined;
}

/**
 * A cursor this index did not write. It carries its HTTP answer (400 on `cursor`), which
 * the apps' one error filter (libs/platform) renders like any other 4xx.
 */
export class BadCursor extends Error {
  readonly status = 400;
  readonly error = 'Bad Request';
  readonly fields = { cursor: ['unknown cursor'] };
  constructor() {
    super('invalid cursor');
  }
}

/**
 * One page of stores, by code (or, with `q`, by matching term then code). Walks one lex
 * zset from the cursor — the search index with `q`, else the region's, the tag's or
 * every store's — and filters the rest of the query on the rows it reads. `next` is
 * present while the walk has not reached the end of the index.
 */
export async function queryStores(redis: Redis, keys: RedisKeys, query: StoreQuery): Promise<StorePage> {
  // The index is walked on the first word; the others filter the rows read.
  const q = query.q === undefined ? undefined : (searchWords(query.q)[0] ?? '');
  let key: string;
  let min: string | Buffer;
  let max: string | Buffer;
  if (q) {
    key = keys.index('search');
    min = `[${q}`;
    max = Buffer.concat([Buffer.from(`[${q}`, 'utf8'), Buffer.from([0xff])]);
  } else {
    key = query.regionId
      ? keys.index('by-region', query.regionId)
      : query.tag
        ? keys.index('by-tag', query.tag)
        : keys.index('by-code');
    min = '-';
    max = '+';
  }
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    if (after === undefined) throw new BadCursor();
    min = `(${after}`;
  }
  const items: StoreRow[] = [];
  let examined = 0;
  let last: string | undefined;
  for (;;) {
    const batch = Math.min(SCAN_BATCH, Math.max(query.limit - items.length, 1) * 2);
    const members = await redis.zrangebylex(key, min, max, 'LIMIT', 0, batch);
    if (members.length === 0) return { items };
    const ids = members.map((m) => m.slice(m.lastIndexOf(SEP) + 1));
    const rows = await redis.hmget(keys.index('rows'), ...ids);
    for (const [i, value] of rows.entries()) {
      examined++;
      last = members[i];
      if (!value) continue;
      const row = JSON.parse(value) as StoreRow;
      if (query.regionId && row.regionId !== query.regionId) continue;
      if (query.tag && !row.tags.includes(query.tag)) continue;
      if (q) {
        if (!matchesSearch(row, query.q!)) continue;
        // A store matches by several terms (code "ly01", name "Lyon"): it is listed at the first.
        const term = members[i].slice(0, members[i].indexOf(SEP));
        const first = searchTerms(row)
          .filter((t) => t.startsWith(q))
          .sort()[0];
        if (term !== first) continue;
      }
      items.push(row);
      if (items.length === query.limit) break;
    }
    if (items.length === query.limit || examined >= SCAN_BUDGET) return { items, next: encodeCursor(last!) };
    if (members.length < batch) return { items };
    min = `(${last}`;
  }
}

/** A terminal of the index: only registered ones are indexed, so never `none`. */
export type TerminalRow = TerminalView;

/** One page of terminals by store id (then terminal id), optionally of one store. */
export async function queryTerminals(
  redis: Redis,
  keys: RedisKeys,
  query: { storeId?: string; limit: number; cursor?: string },
): Promise<{ items: TerminalRow[]; next?: string }> {
  let min = query.storeId ? `[${query.storeId}${SEP}` : '-';
  const max: string | Buffer = query.storeId
    ? Buffer.concat([Buffer.from(`[${query.storeId}${SEP}`, 'utf8'), Buffer.from([0xff])])
    : '+';
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    if (after === undefined) throw new BadCursor();
    min = `(${after}`;
  }
  const members = await redis.zrangebylex(keys.index('terminals'), min, max, 'LIMIT', 0, query.limit + 1);
  const page = members.slice(0, query.limit);
  const rows = page.length
    ? await redis.hmget(keys.index('terminal-rows'), ...page.map((m) => m.slice(m.indexOf(SEP) + 1)))
    : [];
  return {
    items: rows.filter((v): v is string => !!v).map((v) => JSON.parse(v) as TerminalRow),
    ...(members.length > query.limit ? { next: encodeCursor(page.at(-1)!) } : {}),
  };
}

/** Store rows by id (absent ids are left out), from the index's one hash. */
export async function storeRows(redis: Redis, keys: RedisKeys, ids: string[]): Promise<Map<string, StoreRow>> {
  const rows = new Map<string, StoreRow>();
  if (ids.length === 0) return rows;
  const values = await redis.hmget(keys.index('rows'), ...ids);
  for (const value of values) {
    if (!value) continue;
    const row = JSON.parse(value) as StoreRow;
    rows.set(row.id, row);
  }
  return rows;
}

/**
 * KEYS[1] by-code, KEYS[2] rows, KEYS[3] terminal-roles, KEYS[4] locale-of, KEYS[5..]
 * region and tag zsets; ARGV[1] "1" for all, ARGV[2] the key prefix of a store's terminal
 * set (same slot), ARGV[3] roles comma-separated (empty: every terminal), ARGV[4] "1" to
 * count stores by locale, ARGV[5..] store ids. The union of the stores the audience
 * selects, their enrolled terminals that show it, and (asked) the stores per locale.
 */
export const AUDIENCE_COUNT_LUA = `
local seen = {}
local stores = 0
local terminals = 0
local roles = {}
local anyRole = false
for role in string.gmatch(ARGV[3], '[^,]+') do roles[role] = true anyRole = true end
local function shows(terminalId)
  local own = redis.call('HGET', KEYS[3], terminalId)
  if not own then return false end
  for role in string.gmatch(own, '[^,]+') do if roles[role] then return true end end
  return false
end
local locales = {}
local function add(id)
  if not seen[id] then
    seen[id] = true
    stores = stores + 1
    if ARGV[4] == '1' then
      local locale = redis.call('HGET', KEYS[4], id)
      if not locale then
        local row = redis.call('HGET', KEYS[2], id)
        locale = row and cjson.decode(row).locale or 'unknown'
      end
      locales[locale] = (locales[locale] or 0) + 1
    end
    if anyRole then
      for _, terminalId in ipairs(redis.call('SMEMBERS', ARGV[2] .. id)) do
        if shows(terminalId) then terminals = terminals + 1 end
      end
    else
      terminals = terminals + redis.call('SCARD', ARGV[2] .. id)
    end
  end
end
local function addAll(key)
  for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local at = 0
    while true do
      local nxt = string.find(m, '\\0', at + 1, true)
      if not nxt then break end
      at = nxt
    end
    add(string.sub(m, at + 1))
  end
end
if ARGV[1] == '1' then
  addAll(KEYS[1])
else
  for i = 5, #KEYS do addAll(KEYS[i]) end
  for i = 5, #ARGV do
    if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then add(ARGV[i]) end
  end
end
local flat = {}
for locale, count in pairs(locales) do
  flat[#flat + 1] = locale
  flat[#flat + 1] = count
end
return { stores, terminals, flat }`;

/**
 * How many stores an audience reaches, and how many enrolled terminals of theirs show it:
 * the same union as the feed planner's `targetsStore` (all, or any of the regions, the
 * stores or the tags), and with `roles` only terminals serving one of them (a shared
 * tablet serves none), counted in Redis by one script on the index's slot.
 */
export async function countAudience(
  redis: Redis,
  keys: RedisKeys,
  audience: Pick<Audience, 'all' | 'regionIds' | 'storeIds' | 'tags' | 'roles'>,
  options: { locales?: boolean } = {},
): Promise<{ stores: number; terminals: number; locales?: Record<string, number> }> {
  const setKeys = [
    keys.index('by-code'),
    keys.index('rows'),
    keys.index('terminal-roles'),
    keys.index('locale-of'),
    ...(audience.regionIds ?? []).map((id) => keys.index('by-region', id)),
    ...(audience.tags ?? []).map((tag) => keys.index('by-tag', tag)),
  ];
  const [stores, terminals, flat] = (await redis.eval(
    AUDIENCE_COUNT_LUA,
    setKeys.length,
    ...setKeys,
    audience.all === true ? '1' : '0',
    keys.index('terminals', ''),
    (audience.roles ?? []).join(','),
    options.locales ? '1' : '0',
    ...(audience.storeIds ?? []),
  )) as [number, number, Array<string | number>];
  if (!options.locales) return { stores, terminals };
  const locales: Record<string, number> = {};
  for (let i = 0; i < flat.length; i += 2) locales[String(flat[i])] = Number(flat[i + 1]);
  return { stores, terminals, locales };
}

/**
 * Per store locale, how many stores reached each counted step of a communication (issue
 * 22, reach by language): the stores with any reach (`reach:<id>`, their step bits) read a
 * page at a time with HSCAN, and their locales with one HMGET per page (`locale-of`; a
 * store indexed before it existed falls back to its row). Its cost is the number of
 * targeted stores, in pages: it never blocks Redis for the whole of a national publish.
 */
export async function reachCountsByLocale(
  redis: Redis,
  keys: RedisKeys,
  communicationId: string,
): Promise<Map<string, Record<ReachCounted, number>>> {
  const counts = new Map<string, Record<ReachCounted, number>>();
  let cursor = '0';
  do {
    const [next, flat] = await redis.hscan(keys.index('reach', communicationId), cursor, 'COUNT', 1_000);
    cursor = next;
    const ids: string[] = [];
    const masks: number[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      ids.push(flat[i]!);
      masks.push(Number(flat[i + 1]));
    }
    if (ids.length === 0) continue;
    const locales = await redis.hmget(keys.index('locale-of'), ...ids);
    const missing = ids.filter((_, i) => locales[i] === null);
    const rows = missing.length ? await redis.hmget(keys.index('rows'), ...missing) : [];
    const fromRows = new Map(
      missing.map((id, i) => [id, rows[i] ? (JSON.parse(rows[i]!) as StoreRow).locale : 'unknown']),
    );
    ids.forEach((id, i) => {
      const locale = locales[i] ?? fromRows.get(id) ?? 'unknown';
      let row = counts.get(locale);
      if (!row) {
        row = noReach();
        counts.set(locale, row);
      }
      REACH_COUNTED.forEach((step, bit) => {
        if (Math.floor(masks[i]! / 2 ** bit) % 2 === 1) row[step]++;
      });
    });
  } while (cursor !== '0');
  return counts;
}
