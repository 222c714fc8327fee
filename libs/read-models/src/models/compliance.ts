import type Redis from 'ioredis';
import type {
  ComplianceTask,
  DomainEvent,
  EvidencePage,
  StoreCompliance,
  TaskDismissal,
  TaskEvidence,
  SealedText,
} from '@lastmeter/contracts';
import { requireStrings, type ProjectionContext, type ReadModel } from '../model';
import type { RedisKeys } from '../redis-keys';

type Rejected = NonNullable<TaskEvidence['rejected']>;

/** Evidence as Redis keeps it: a person's note sealed; the read paths open it (`openNotes` in libs/history). */
export type SealedEvidence = TaskEvidence & { sealedNote?: SealedText };

interface OpenTask {
  title: string;
  dueAt?: string;
  /** Absent: mandated. */
  mandate?: 'suggested';
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
        const task: OpenTask = JSON.parse(
          JSON.stringify({ title: communication.title, dueAt: communication.dueAt, mandate: communication.mandate }),
        );
        context.write('HSET', keys.model('tasks', 'open', storeId), communication.id, JSON.stringify(task));
        context.write('SADD', keys.model('tasks', 'stores'), storeId);
      } else {
        context.write('HDEL', keys.model('tasks', 'open', storeId), communication.id);
      }
    } else if (event.type === 'task.completed') {
      requireStrings(event.data, 'storeId', 'communicationId');
      const {
        storeId,
        communicationId,
        terminalId,
        staffId,
        revision,
        note,
        sealedNote,
        photoUrl,
        photo,
        attempt = 0,
      } = event.data;
      context.write('SADD', keys.model('tasks', 'done', communicationId), storeId);
      context.script('lmHashMax', keys.model('tasks', 'attempt', communicationId), storeId, attempt);
      // The store's latest completion is its evidence (facts of a store are in order: one partition).
      const evidence: SealedEvidence = {
        terminalId,
        staffId,
        sealedNote,
        revision,
        completedAt: event.occurredAt,
        note,
        photoUrl,
        photo,
        ...(attempt > 0 ? { attempt } : {}),
      };
      context.write('HSET', keys.model('tasks', 'evidence', communicationId), storeId, JSON.stringify(evidence));
    } else if (event.type === 'task.dismissed' || event.type === 'task.assigned') {
      // A store manager's decision on a suggested task (issue 21): the latest of each kind per store.
      requireStrings(event.data, 'storeId', 'communicationId');
      const { storeId, communicationId, by } = event.data;
      const decision =
        event.type === 'task.dismissed'
          ? { reason: event.data.reason, at: event.occurredAt, by }
          : { staffIds: event.data.staffIds, at: event.occurredAt, by };
      const model = event.type === 'task.dismissed' ? 'dismissed' : 'assigned';
      context.write('HSET', keys.model('tasks', model, communicationId), storeId, JSON.stringify(decision));
    } else if (event.type === 'task.evidence-rejected') {
      // From the events topic, so in no fixed order with the store's completions: a store's
      // task is done when its latest attempt is at least its number of rejections (both maxima).
      const { storeId, reason, rejection } = event.data;
      context.script('lmHashMax', keys.model('tasks', 'rejections', event.aggregateId), storeId, rejection);
      const rejected: Rejected = { reason, rejection, at: event.occurredAt };
      context.write('HSET', keys.model('tasks', 'rejected', event.aggregateId), storeId, JSON.stringify(rejected));
    }
  },
};

export type { ComplianceTask, StoreCompliance };

/**
 * A store's completion of each of these tasks: completed when it sent one and its latest attempt
 * answers every rejection; the evidence is its latest, marked `rejected` when head office
 * sent it back and no retake has come yet.
 */
async function completionsOf(
  redis: Redis,
  keys: RedisKeys,
  communicationIds: string[],
  storeId: string,
): Promise<Array<{ completed: boolean; evidence?: TaskEvidence; dismissed?: TaskDismissal; assignedTo?: string[] }>> {
  if (communicationIds.length === 0) return [];
  // One round trip for the store's tasks: seven single-key reads per task, in order.
  const pipeline = redis.pipeline();
  for (const id of communicationIds) {
    pipeline.sismember(keys.model('tasks', 'done', id), storeId);
    for (const model of ['evidence', 'attempt', 'rejections', 'rejected', 'dismissed', 'assigned']) {
      pipeline.hget(keys.model('tasks', model, id), storeId);
    }
  }
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([error]) => error);
  if (failed) throw failed[0];
  const value = (i: number) => results[i][1] as string | null;
  return communicationIds.map((_, t) => {
    const at = 7 * t;
    const dismissed = value(at + 5);
    const assigned = value(at + 6);
    return {
      ...judged(results[at][1] === 1, value(at + 1), value(at + 2), value(at + 3), value(at + 4)),
      ...(dismissed ? { dismissed: JSON.parse(dismissed) as TaskDismissal } : {}),
      ...(assigned ? { assignedTo: (JSON.parse(assigned) as { staffIds: string[] }).staffIds } : {}),
    };
  });
}

function judged(
  done: boolean,
  evidence: string | null,
  attempt: string | null,
  rejections: string | null,
  rejected: string | null,
): { completed: boolean; evidence?: TaskEvidence } {
  const open = Number(rejections ?? 0) > Number(attempt ?? 0);
  const shown = evidence ? (JSON.parse(evidence) as TaskEvidence) : undefined;
  if (shown && open && rejected) shown.rejected = JSON.parse(rejected) as Rejected;
  return { completed: done && !open, ...(shown ? { evidence: shown } : {}) };
}

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
    const completions = await completionsOf(
      redis,
      keys,
      entries.map(([communicationId]) => communicationId),
      storeId,
    );
    const tasks = entries
      .map(([communicationId, json], i): ComplianceTask => {
        const { mandate, ...task } = JSON.parse(json) as OpenTask;
        const { completed, evidence, dismissed, assignedTo } = completions[i];
        // A suggested task the store manager dismissed is neither open nor overdue.
        const settled = completed || (mandate === 'suggested' && !!dismissed);
        const overdue = !settled && !!task.dueAt && Date.parse(task.dueAt) < now.getTime();
        return {
          communicationId,
          ...task,
          mandate: mandate ?? 'mandated',
          completed,
          overdue,
          ...(evidence ? { evidence } : {}),
          ...(mandate === 'suggested' && dismissed ? { dismissed } : {}),
          ...(mandate === 'suggested' && assignedTo ? { assignedTo } : {}),
        };
      })
      .sort(
        (a, b) => (a.dueAt ?? '~').localeCompare(b.dueAt ?? '~') || a.communicationId.localeCompare(b.communicationId),
      );
    if (tasks.length === 0 && !storeIds) continue;
    const counts = (list: ComplianceTask[]) => ({
      open: list.filter((t) => !t.completed && !t.dismissed).length,
      overdue: list.filter((t) => t.overdue).length,
      completed: list.filter((t) => t.completed).length,
    });
    const suggested = tasks.filter((t) => t.mandate === 'suggested');
    board.push({
      storeId,
      ...counts(tasks),
      mandated: counts(tasks.filter((t) => t.mandate === 'mandated')),
      suggested: { ...counts(suggested), dismissed: suggested.filter((t) => t.dismissed).length },
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
  const stores: string[] = [];
  for (let i = 0; i < flat.length; i += 2) stores.push(flat[i]);
  const hmget = (model: string) =>
    stores.length ? redis.hmget(keys.model('tasks', model, communicationId), ...stores) : Promise.resolve([]);
  const [attempts, rejections, rejected] = await Promise.all([
    hmget('attempt'),
    hmget('rejections'),
    hmget('rejected'),
  ]);
  const items: EvidencePage['items'] = stores.map((storeId, i) => ({
    storeId,
    ...judged(true, flat[2 * i + 1], attempts[i], rejections[i], rejected[i]).evidence!,
  }));
  items.sort((a, b) => a.storeId.localeCompare(b.storeId));
  return { communicationId, items, ...(next !== '0' ? { next } : {}) };
}
