import type Redis from 'ioredis';
import type { ComplianceTask, DomainEvent, EvidencePage, StoreCompliance, TaskEvidence } from '@lastmeter/contracts';
import { requireStrings, type ProjectionContext, type ReadModel } from '../model';
import type { RedisKeys } from '../redis-keys';

interface OpenTask {
  title: string;
  dueAt?: string;
}

/**
 * Tasks per store: what is live in each store's feed (from the feed) and which stores
 * completed what (from task.completed). Kept apart and joined when read, so the two
 * topics may be projected in any relative order.
 */
export const compliance: ReadModel = {
  name: 'compliance',
  project(event: DomainEvent, context: ProjectionContext): void {
    const { keys } = context;
    if (event.type === 'feed.appended') {
      const { storeId, change, communication } = event.data;
      if (communication.kind !== 'task') return;
      if (change === 'published' || change === 'revised') {
        const task: OpenTask = JSON.parse(JSON.stringify({ title: communication.title, dueAt: communication.dueAt }));
        context.write('HSET', keys.model('tasks', 'open', storeId), communication.id, JSON.stringify(task));
        context.write('SADD', keys.model('tasks', 'stores'), storeId);
      } else {
        context.write('HDEL', keys.model('tasks', 'open', storeId), communication.id);
      }
    } else if (event.type === 'task.completed') {
      requireStrings(event.data, 'storeId', 'communicationId');
      const { storeId, communicationId, terminalId, revision, note, photoUrl, photo } = event.data;
      context.write('SADD', keys.model('tasks', 'done', communicationId), storeId);
      // The store's latest completion is its evidence (facts of a store are in order: one partition).
      const evidence: TaskEvidence = { terminalId, revision, completedAt: event.occurredAt, note, photoUrl, photo };
      context.write('HSET', keys.model('tasks', 'evidence', communicationId), storeId, JSON.stringify(evidence));
    }
  },
};

export type { ComplianceTask, StoreCompliance };

/** The board: per store, its live tasks, which are done and which are overdue at `now`. */
export async function readCompliance(
  redis: Redis,
  keys: RedisKeys,
  now: Date,
  storeIds?: string[],
): Promise<StoreCompliance[]> {
  const stores = storeIds ?? (await redis.smembers(keys.model('tasks', 'stores')));
  const open = await Promise.all(stores.map((storeId) => redis.hgetall(keys.model('tasks', 'open', storeId))));
  const board: StoreCompliance[] = [];
  for (const [index, storeId] of stores.entries()) {
    const entries = Object.entries(open[index]);
    const [done, evidence] = await Promise.all([
      Promise.all(
        entries.map(([communicationId]) => redis.sismember(keys.model('tasks', 'done', communicationId), storeId)),
      ),
      Promise.all(
        entries.map(([communicationId]) => redis.hget(keys.model('tasks', 'evidence', communicationId), storeId)),
      ),
    ]);
    const tasks = entries
      .map(([communicationId, json], i): ComplianceTask => {
        const task = JSON.parse(json) as OpenTask;
        const completed = done[i] === 1;
        const overdue = !completed && !!task.dueAt && Date.parse(task.dueAt) < now.getTime();
        const shown = completed && evidence[i] ? { evidence: JSON.parse(evidence[i]!) as TaskEvidence } : {};
        return { communicationId, ...task, completed, overdue, ...shown };
      })
      .sort(
        (a, b) => (a.dueAt ?? '~').localeCompare(b.dueAt ?? '~') || a.communicationId.localeCompare(b.communicationId),
      );
    if (tasks.length === 0 && !storeIds) continue;
    board.push({
      storeId,
      open: tasks.filter((t) => !t.completed).length,
      overdue: tasks.filter((t) => t.overdue).length,
      completed: tasks.filter((t) => t.completed).length,
      tasks,
    });
  }
  return board.sort((a, b) => b.overdue - a.overdue || b.open - a.open || a.storeId.localeCompare(b.storeId));
}

/**
 * One task's evidence, store by store (HSCAN of its evidence hash: `cursor` is Redis's, a
 * page may hold fewer than `limit` and still have `next`). Stores that completed it
 * before evidence was kept (no `photo`, no `note`) are listed with what their fact said.
 */
export async function readEvidence(
  redis: Redis,
  keys: RedisKeys,
  communicationId: string,
  options: { cursor?: string; limit: number },
): Promise<EvidencePage> {
  const [next, flat] = await redis.hscan(
    keys.model('tasks', 'evidence', communicationId),
    options.cursor ?? '0',
    'COUNT',
    options.limit,
  );
  const items: EvidencePage['items'] = [];
  for (let i = 0; i < flat.length; i += 2) {
    items.push({ storeId: flat[i], ...(JSON.parse(flat[i + 1]) as TaskEvidence) });
  }
  items.sort((a, b) => a.storeId.localeCompare(b.storeId));
  return { communicationId, items, ...(next !== '0' ? { next } : {}) };
}
