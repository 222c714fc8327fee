import type Redis from 'ioredis';
import { pipelineReplies } from '@lastmeter/redis';
import {
  servesAny,
  type DomainEvent,
  type PeopleReach,
  type PersonReachRow,
  type ReachCounts,
  type StoreRole,
} from '@lastmeter/contracts';
import type { StaffState } from '@lastmeter/domain';
import type { ProjectionContext, ReadModel } from '../model';
import type { RedisKeys } from '../redis-keys';
import type { CatalogueEntry } from './catalogue';

/** What a staff member's fact says they did: saw it, or saw and acknowledged it. */
const STEP_OF: Partial<Record<DomainEvent['type'], 'seen' | 'acknowledged'>> = {
  'receipt.read': 'seen',
  'receipt.acknowledged': 'acknowledged',
  'task.completed': 'acknowledged',
  'quiz.answered': 'acknowledged',
};

/**
 * Reach per person (issue 21). Two structures, both idempotent and independent of the
 * order of the topics, so a rebuild gives the same model:
 *
 * - `staff-roles:<storeId>` (hash): each *active* staff member of the store → their roles
 *   (comma-separated), kept by the staff events; a removed or erased person leaves it.
 * - `people-reach:<communicationId>:<storeId>` (hash): `<staffId>:seen` and
 *   `<staffId>:acknowledged` → the first time (HSETNX). Acknowledging (or completing the
 *   task, or answering the quiz) is also seeing.
 *
 * The people a communication reaches in a store are its active staff in the audience's
 * roles (all of them when it names none), and everyone who saw it there: someone who
 * acknowledged and then left (or was erased) still counts, someone who left before seeing
 * it no longer does. So erasing a person never changes a count.
 */
export const peopleReach: ReadModel = {
  name: 'people-reach',
  project(event: DomainEvent, context: ProjectionContext): void {
    if (event.type === 'communication.due-reached') {
      context.announce({ kind: 'due-reached', communicationId: event.aggregateId, dueAt: event.data.dueAt });
      return;
    }
    const step = STEP_OF[event.type];
    if (!step) return;
    const { staffId, communicationId } = event.data as { staffId?: string; communicationId: string };
    if (!staffId) return;
    const { storeId } = event.data as { storeId: string };
    const key = context.keys.model('people-reach', communicationId, storeId);
    context.write('HSETNX', key, `${staffId}:seen`, event.occurredAt);
    if (step === 'acknowledged') context.write('HSETNX', key, `${staffId}:acknowledged`, event.occurredAt);
    context.announce({ kind: 'reach-changed', communicationId });
  },
};

/** The directory's part: a staff member's roles in their store's roster hash while active. */
export function indexStaff(context: ProjectionContext, state: StaffState): void {
  const key = context.keys.model('staff-roles', state.storeId);
  if (state.status === 'active') context.write('HSET', key, state.id, state.roles.join(','));
  else context.write('HDEL', key, state.id);
}

const CHUNK = 1_000;

function emptyCounts(): ReachCounts {
  return { persons: 0, seen: 0, acknowledged: 0, overdue: 0 };
}

/**
 * Seen-by and acknowledged-by for a communication: overall, by region, by store (with a
 * region or a store) and by person (with a store). One pipelined round per 1,000 stores.
 */
export async function readPeopleReach(
  redis: Redis,
  keys: RedisKeys,
  communication: CatalogueEntry,
  scope: { regionId?: string; storeId?: string },
  now: Date,
): Promise<Omit<PeopleReach, 'people'> & { people?: Array<Omit<PersonReachRow, 'name'>> }> {
  const targeted = await redis.smembers(keys.model('reach', communication.id, 'targeted'));
  const wanted = communication.audience.roles;
  const due = communication.dueAt ? new Date(communication.dueAt) : undefined;
  const overdueNow = due !== undefined && due.getTime() <= now.getTime();
  const overall = emptyCounts();
  const byRegion = new Map<string, ReachCounts>();
  const byStore = new Map<string, ReachCounts>();
  const people: Array<Omit<PersonReachRow, 'name'>> = [];
  for (let i = 0; i < targeted.length; i += CHUNK) {
    const chunk = targeted.slice(i, i + CHUNK);
    const regions = await redis.hmget(keys.index('region-of'), ...chunk);
    const stores = chunk
      .map((storeId, j) => ({ storeId, regionId: regions[j] ?? 'unknown' }))
      .filter(
        ({ storeId, regionId }) =>
          (!scope.storeId || storeId === scope.storeId) && (!scope.regionId || regionId === scope.regionId),
      );
    if (stores.length === 0) continue;
    const audience = await peopleOfStores(redis, keys, communication, stores);
    audience.forEach(({ seenAt, acknowledgedAt, ...person }) => {
      const overdue = overdueNow && !acknowledgedAt;
      for (const counts of [overall, getOrAdd(byRegion, person.regionId), getOrAdd(byStore, person.storeId)]) {
        counts.persons++;
        if (seenAt) counts.seen++;
        if (acknowledgedAt) counts.acknowledged++;
        if (overdue) counts.overdue++;
      }
      if (scope.storeId) {
        people.push({
          staffId: person.staffId,
          storeId: person.storeId,
          roles: person.roles as StoreRole[],
          ...(seenAt ? { seenAt } : {}),
          ...(acknowledgedAt ? { acknowledgedAt } : {}),
          overdue,
        });
      }
    });
  }
  const rows = <K extends string>(map: Map<string, ReachCounts>, key: K) =>
    [...map].map(([id, counts]) => ({ [key]: id, ...counts }) as { [P in K]: string } & ReachCounts);
  return {
    communicationId: communication.id,
    ...(wanted?.length ? { roles: wanted } : {}),
    ...(communication.dueAt ? { dueAt: communication.dueAt } : {}),
    overall,
    byRegion: rows(byRegion, 'regionId').sort((a, b) => a.regionId.localeCompare(b.regionId)),
    ...(scope.regionId || scope.storeId
      ? { byStore: rows(byStore, 'storeId').sort((a, b) => a.storeId.localeCompare(b.storeId)) }
      : {}),
    ...(scope.storeId ? { people } : {}),
  };
}

/** A person a communication reaches in one of its stores, and when they saw and acknowledged it. */
export interface PersonOfStore {
  staffId: string;
  storeId: string;
  regionId: string;
  /** Their roles while active (empty for someone who saw it and has left since). */
  roles: string[];
  seenAt?: string;
  acknowledgedAt?: string;
}

/**
 * The people a communication reaches in these stores: the active staff in its audience's
 * roles, and whoever saw it there. One pipelined round for all of them.
 */
export async function peopleOfStores(
  redis: Redis,
  keys: RedisKeys,
  communication: Pick<CatalogueEntry, 'id' | 'audience'>,
  stores: ReadonlyArray<{ storeId: string; regionId: string }>,
): Promise<PersonOfStore[]> {
  if (stores.length === 0) return [];
  const wanted = communication.audience.roles;
  const pipeline = redis.pipeline();
  for (const { storeId } of stores) {
    pipeline.hgetall(keys.model('staff-roles', storeId));
    pipeline.hgetall(keys.model('people-reach', communication.id, storeId));
  }
  const replies = pipelineReplies(await pipeline.exec()) as Array<Record<string, string>>;
  return stores.flatMap(({ storeId, regionId }, j) => {
    const roster = replies[j * 2] ?? {};
    const acted = replies[j * 2 + 1] ?? {};
    const ids = new Set(
      Object.entries(roster)
        .filter(([, roles]) => servesAny(roles ? roles.split(',') : [], wanted))
        .map(([staffId]) => staffId),
    );
    for (const field of Object.keys(acted)) ids.add(field.slice(0, field.lastIndexOf(':')));
    return [...ids].map((staffId) => ({
      staffId,
      storeId,
      regionId,
      roles: (roster[staffId] ?? '').split(',').filter(Boolean),
      ...(acted[`${staffId}:seen`] ? { seenAt: acted[`${staffId}:seen`] } : {}),
      ...(acted[`${staffId}:acknowledged`] ? { acknowledgedAt: acted[`${staffId}:acknowledged`] } : {}),
    }));
  });
}

function getOrAdd(map: Map<string, ReachCounts>, key: string): ReachCounts {
  let counts = map.get(key);
  if (!counts) map.set(key, (counts = emptyCounts()));
  return counts;
}
