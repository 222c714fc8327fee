import type Redis from 'ioredis';
import { pipelineReplies } from '@lastmeter/redis';
import {
  REACH_STEPS,
  type DomainEvent,
  type ReachReport,
  type ReachStep,
  type ReachTimeline,
  type StepCounts,
  type StoreReach,
} from '@lastmeter/contracts';
import { requireStrings, type ProjectionContext, type ReadModel } from '../model';
import type { RedisKeys } from '../redis-keys';
import type { CatalogueEntry } from './catalogue';
import { BadCursor, countReach, reachCountsByRegion, storeRows, type StoreRow } from './directory-index';

export { REACH_STEPS, type ReachStep, type StepCounts, type StoreReach, type ReachReport };

const STEP_OF: Partial<Record<DomainEvent['type'], ReachStep>> = {
  'receipt.delivered': 'delivered',
  'receipt.read': 'read',
  'receipt.acknowledged': 'acknowledged',
  'task.completed': 'completed',
};

/**
 * Reach per communication: the stores it was targeted at (from the feed) and, per step,
 * a hash of `storeId/terminalId` → the first time it reported that step (HSETNX: one
 * idempotent command per receipt). Set semantics make every write independent of the
 * order in which the feed and store-events topics are projected, so a rebuild
 * reproduces the same model. Each store is also counted once per step in its region on
 * the directory index's slot (`countReach`), so the by-region report reads counters
 * instead of every store.
 */
export const reach: ReadModel = {
  name: 'reach',
  project(event: DomainEvent, context: ProjectionContext): void {
    const { keys } = context;
    if (event.type === 'feed.appended') {
      if (event.data.change === 'published') {
        // Before the item goes out: a receipt for it is checked against this set.
        context.beforeFeed('SADD', keys.model('reach', event.data.communication.id, 'targeted'), event.data.storeId);
        countReach(context, event.data.communication.id, event.data.storeId, 'targeted');
        context.announce({ kind: 'reach-changed', communicationId: event.data.communication.id });
      }
      return;
    }
    const step = STEP_OF[event.type];
    if (!step && event.type !== 'quiz.answered') return;
    const data = event.data as {
      storeId: string;
      terminalId: string;
      communicationId: string;
      revision?: number;
      score?: number;
    };
    requireStrings(data, 'storeId', 'terminalId', 'communicationId');
    const who = `${data.storeId}/${data.terminalId}`;
    context.announce({ kind: 'reach-changed', communicationId: data.communicationId });
    if (typeof data.revision === 'number') {
      context.script('lmHashMax', keys.model('reach', data.communicationId, 'revision'), who, data.revision);
    }
    if (step) {
      context.write('HSETNX', keys.model('reach', data.communicationId, step), who, event.occurredAt);
      countReach(context, data.communicationId, data.storeId, step);
    } else {
      if (typeof data.score !== 'number' || !Number.isFinite(data.score) || data.score < 0) {
        throw new Error('data.score must be a number >= 0');
      }
      context.write('HSET', keys.model('reach', data.communicationId, 'quiz'), who, data.score);
    }
  },
};

/** Whether the communication was ever in this store's feed (receipts are accepted only then). */
export async function wasTargeted(redis: Redis, keys: RedisKeys, communicationId: string, storeId: string) {
  return (await redis.sismember(keys.model('reach', communicationId, 'targeted'), storeId)) === 1;
}

export interface RawReach {
  targeted: string[];
  /** `storeId/terminalId` → the highest revision it reported on. */
  revision: Record<string, string>;
  /** Per step: `storeId/terminalId` → when it first reported the step. */
  first: Record<ReachStep, Record<string, string>>;
  steps: Record<ReachStep, string[]>;
  quiz: Record<string, string>;
}

export async function readReach(redis: Redis, keys: RedisKeys, communicationId: string): Promise<RawReach> {
  const key = (...parts: string[]) => keys.model('reach', communicationId, ...parts);
  const pipeline = redis.pipeline().smembers(key('targeted'));
  for (const step of REACH_STEPS) pipeline.hgetall(key(step));
  pipeline.hgetall(key('quiz')).hgetall(key('revision'));
  const replies = pipelineReplies(await pipeline.exec());
  const first = Object.fromEntries(
    REACH_STEPS.map((step, i) => [step, replies[i + 1] as Record<string, string>]),
  ) as RawReach['first'];
  return {
    targeted: replies[0] as string[],
    first,
    steps: Object.fromEntries(REACH_STEPS.map((step) => [step, Object.keys(first[step]).sort()])) as RawReach['steps'],
    quiz: replies[REACH_STEPS.length + 1] as Record<string, string>,
    revision: replies[REACH_STEPS.length + 2] as Record<string, string>,
  };
}

/** Per store: how many terminals reported each step, and the quiz average. */
export function reachByStore(raw: RawReach): StoreReach[] {
  const stores = new Map<string, StoreReach>();
  const of = (storeId: string) => {
    let store = stores.get(storeId);
    if (!store) {
      store = { storeId, targeted: false, delivered: 0, read: 0, acknowledged: 0, completed: 0, quizAnswers: 0 };
      stores.set(storeId, store);
    }
    return store;
  };
  for (const storeId of raw.targeted) of(storeId).targeted = true;
  for (const step of REACH_STEPS) for (const who of raw.steps[step]) of(who.split('/')[0])[step]++;
  const scores = new Map<string, number[]>();
  for (const [who, score] of Object.entries(raw.quiz)) {
    const storeId = who.split('/')[0];
    scores.set(storeId, [...(scores.get(storeId) ?? []), Number(score)]);
  }
  for (const [storeId, list] of scores) {
    of(storeId).quizAnswers = list.length;
    of(storeId).quizScore = list.reduce((a, b) => a + b, 0) / list.length;
  }
  return [...stores.values()].sort((a, b) => a.storeId.localeCompare(b.storeId));
}

export function stepCounts(raw: RawReach, step: ReachStep): StepCounts {
  return { stores: new Set(raw.steps[step].map((who) => who.split('/')[0])).size, terminals: raw.steps[step].length };
}

/** The stores any step of the reach mentions. */
function storesOf(raw: RawReach): string[] {
  const ids = new Set(raw.targeted);
  for (const step of REACH_STEPS) for (const who of raw.steps[step]) ids.add(who.split('/')[0]);
  for (const who of Object.keys(raw.quiz)) ids.add(who.split('/')[0]);
  return [...ids];
}

/**
 * GET /communications/:id/reach and the console's live board: overall, by region and
 * (unless `byStore: false`) by store. Without the stores it reads counters only: the size
 * of each step's set or hash, the per-region counts (`reachCountsByRegion`) and the quiz
 * scores, never a store row, so its cost does not grow with the number of stores. The
 * per-store rows join the directory index's `rows` for each store's region.
 */
export async function reachReport(
  redis: Redis,
  keys: RedisKeys,
  communication: CatalogueEntry,
  options?: { byStore?: true },
): Promise<ReachReport>;
export async function reachReport(
  redis: Redis,
  keys: RedisKeys,
  communication: CatalogueEntry,
  options: { byStore: boolean },
): Promise<ReachReport | Omit<ReachReport, 'byStore'>>;
export async function reachReport(
  redis: Redis,
  keys: RedisKeys,
  communication: CatalogueEntry,
  options: { byStore?: boolean } = {},
): Promise<ReachReport | Omit<ReachReport, 'byStore'>> {
  const regions = await reachCountsByRegion(redis, keys, communication.id);
  const byRegion = [...regions]
    .map(([regionId, counts]) => ({ regionId, ...counts }))
    .sort((a, b) => a.regionId.localeCompare(b.regionId));
  const storesAt = (step: ReachStep) => byRegion.reduce((n, region) => n + region[step], 0);
  const head = {
    communicationId: communication.id,
    revision: communication.revision,
    status: communication.status,
  };
  if (options.byStore === false) {
    const key = (...parts: string[]) => keys.model('reach', communication.id, ...parts);
    const pipeline = redis.pipeline().scard(key('targeted'));
    for (const step of REACH_STEPS) pipeline.hlen(key(step));
    pipeline.hvals(key('quiz'));
    const replies = pipelineReplies(await pipeline.exec());
    const scores = (replies[REACH_STEPS.length + 1] as string[]).map(Number);
    return {
      ...head,
      targeted: replies[0] as number,
      ...(Object.fromEntries(
        REACH_STEPS.map((step, i) => [step, { stores: storesAt(step), terminals: replies[i + 1] as number }]),
      ) as Record<ReachStep, StepCounts>),
      quiz: {
        answers: scores.length,
        averageScore: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null,
      },
      byRegion,
    };
  }
  const raw = await readReach(redis, keys, communication.id);
  const rows = await storeRows(redis, keys, storesOf(raw));
  const byStore = reachByStore(raw).map((s) => ({ ...s, regionId: rows.get(s.storeId)?.regionId }));
  const scores = byStore.filter((s) => s.quizScore !== undefined);
  const answers = scores.reduce((n, s) => n + s.quizAnswers, 0);
  return {
    ...head,
    targeted: raw.targeted.length,
    ...(Object.fromEntries(REACH_STEPS.map((step) => [step, stepCounts(raw, step)])) as Record<ReachStep, StepCounts>),
    quiz: {
      answers,
      averageScore: answers ? scores.reduce((sum, s) => sum + s.quizScore! * s.quizAnswers, 0) / answers : null,
    },
    byRegion,
    byStore,
  };
}

export type StoreReachRow = StoreReach & { regionId?: string; code?: string; name?: string };

/**
 * GET /communications/:id/reach?regionId=: the stores of one region (`unknown`: not in
 * the directory) that the reach mentions, by code, a page at a time.
 */
export async function reachOfRegion(
  redis: Redis,
  keys: RedisKeys,
  communicationId: string,
  query: { regionId: string; limit: number; cursor?: string },
): Promise<{ communicationId: string; regionId: string; items: StoreReachRow[]; next?: string }> {
  const raw = await readReach(redis, keys, communicationId);
  const rows = await storeRows(redis, keys, storesOf(raw));
  const sortKey = (s: { storeId: string }, row?: StoreRow) => `${row?.code ?? ''}\u0000${s.storeId}`;
  let after: string | undefined;
  if (query.cursor !== undefined) {
    after = Buffer.from(query.cursor, 'base64url').toString('utf8');
    if (!after.includes('\u0000') || Buffer.from(after, 'utf8').toString('base64url') !== query.cursor) {
      throw new BadCursor();
    }
  }
  const all = reachByStore(raw)
    .map((s) => ({ store: s, row: rows.get(s.storeId) }))
    .filter(({ row }) => (row?.regionId ?? 'unknown') === query.regionId)
    .map(({ store, row }) => ({ key: sortKey(store, row), store, row }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .filter(({ key }) => after === undefined || key > after);
  const page = all.slice(0, query.limit);
  const items = page.map(({ store, row }) => ({
    ...store,
    ...(row ? { regionId: row.regionId, code: row.code, name: row.name } : {}),
  }));
  return {
    communicationId,
    regionId: query.regionId,
    items,
    ...(all.length > page.length ? { next: Buffer.from(page.at(-1)!.key, 'utf8').toString('base64url') } : {}),
  };
}

/**
 * Reach over time: for each step, the cumulative number of terminals (and stores) that
 * had reported it at each first report, from the first-report times the model keeps.
 */
export async function reachTimeline(
  redis: Redis,
  keys: RedisKeys,
  communication: CatalogueEntry,
): Promise<ReachTimeline> {
  const raw = await readReach(redis, keys, communication.id);
  const steps = Object.fromEntries(
    REACH_STEPS.map((step) => {
      const firsts = Object.entries(raw.first[step]).sort(([, a], [, b]) => a.localeCompare(b));
      const stores = new Set<string>();
      const points = firsts.map(([who, at], i) => {
        stores.add(who.split('/')[0]);
        return { at, terminals: i + 1, stores: stores.size };
      });
      return [step, points];
    }),
  ) as ReachTimeline['steps'];
  return {
    communicationId: communication.id,
    ...(communication.publishedAt ? { publishedAt: communication.publishedAt } : {}),
    steps,
  };
}
