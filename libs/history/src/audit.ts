import type Redis from 'ioredis';
import { ERASED_PERSON } from '@lastmeter/auth';
import {
  listTerminals,
  peopleOfStores,
  readReach,
  storeRows,
  type CatalogueEntry,
  type FeedItem,
  type RedisKeys,
  type Report,
} from '@lastmeter/read-models';
import { namedStaff } from './staff-names';

export const AUDIT_COLUMNS = [
  'communicationId',
  'title',
  'currentRevision',
  'storeId',
  'storeCode',
  'regionId',
  'targeted',
  'terminalId',
  'terminalName',
  'revisionSeen',
  'deliveredAt',
  'readAt',
  'acknowledgedAt',
  'completedAt',
  'quizScore',
  'reportCount',
  'staffId',
  'staffName',
  'overdue',
] as const;

export type AuditRow = Record<(typeof AUDIT_COLUMNS)[number], string>;

/** Reports filed by a store since an instant, counted by author (terminal or manager). */
async function reportsSince(
  redis: Redis,
  keys: RedisKeys,
  storeId: string,
  since: string,
): Promise<Map<string, number>> {
  const ids = (await redis.zrange(keys.model('reports', storeId), 0, -1)).map((m) => m.slice(m.indexOf('|') + 1));
  const counts = new Map<string, number>();
  if (ids.length === 0) return counts;
  const reports = (await redis.mget(ids.map((id) => keys.model('report', id))))
    .filter((v): v is string => !!v)
    .map((v) => JSON.parse(v) as Report)
    .filter((r) => r.filedAt >= since);
  for (const report of reports) counts.set(report.authorId, (counts.get(report.authorId) ?? 0) + 1);
  counts.set('*', reports.length);
  return counts;
}

/** Stores read per round of the audit (directory rows, then terminals and reports). */
const AUDIT_CHUNK = 100;

/**
 * One row per store the communication targeted (or that reported on it) and terminal of
 * that store: the revision it last reported on, when it first reported each step, its
 * quiz score, and how many field reports it filed since the communication was published.
 * A store without terminals gets one row with an empty terminal. Rows come by store code,
 * a chunk of stores at a time: the directory is never read whole (only the codes of the
 * stores involved, from the directory index), so a CSV of 50,000 stores streams.
 */
export async function* auditRowStream(
  redis: Redis,
  keys: RedisKeys,
  communication: CatalogueEntry,
  onlyStore?: string,
): AsyncGenerator<AuditRow> {
  const raw = await readReach(redis, keys, communication.id);
  const reported = new Set<string>();
  for (const step of Object.values(raw.first)) for (const who of Object.keys(step)) reported.add(who);
  for (const who of Object.keys(raw.quiz)) reported.add(who);
  const targeted = new Set(raw.targeted);
  const reporters = new Map<string, string[]>();
  for (const who of reported) {
    const [storeId, terminalId] = who.split('/');
    reporters.set(storeId, [...(reporters.get(storeId) ?? []), terminalId]);
  }
  const ids = [...new Set([...raw.targeted, ...reporters.keys()])].filter((id) => !onlyStore || id === onlyStore);
  const placeOf = new Map<string, { code: string; regionId: string }>();
  for (let i = 0; i < ids.length; i += 1_000) {
    for (const [id, row] of await storeRows(redis, keys, ids.slice(i, i + 1_000))) {
      placeOf.set(id, { code: row.code, regionId: row.regionId });
    }
  }
  ids.sort((a, b) => (placeOf.get(a)?.code ?? a).localeCompare(placeOf.get(b)?.code ?? b));
  const since = communication.publishedAt ?? communication.createdAt;
  for (let i = 0; i < ids.length; i += AUDIT_CHUNK) {
    const chunk = ids.slice(i, i + AUDIT_CHUNK);
    // One round of reads for the chunk (ioredis pipelines the concurrent commands).
    const [read, people, staff] = await Promise.all([
      Promise.all(
        chunk.map(async (storeId) => ({
          storeId,
          terminals: await listTerminals(redis, keys, storeId),
          reports: await reportsSince(redis, keys, storeId, since),
        })),
      ),
      peopleOfStores(
        redis,
        keys,
        communication,
        chunk.map((storeId) => ({ storeId, regionId: placeOf.get(storeId)?.regionId ?? '' })),
      ),
      namedStaff(redis, keys, chunk),
    ]);
    const names = new Map(staff.map((person) => [person.id, person.displayName]));
    const overdueNow = !!communication.dueAt && Date.parse(communication.dueAt) <= Date.now();
    for (const { storeId, terminals, reports } of read) {
      const store = placeOf.get(storeId);
      const terminalNames = new Map(terminals.map((t) => [t.id, t.name]));
      const terminalIds = [...new Set([...terminals.map((t) => t.id), ...(reporters.get(storeId) ?? [])])];
      const row = (terminalId: string): AuditRow => {
        const who = `${storeId}/${terminalId}`;
        return {
          communicationId: communication.id,
          title: communication.title,
          currentRevision: String(communication.revision),
          storeId,
          storeCode: store?.code ?? '',
          regionId: store?.regionId ?? '',
          targeted: targeted.has(storeId) ? 'yes' : 'no',
          terminalId,
          terminalName: terminalNames.get(terminalId) ?? '',
          revisionSeen: terminalId ? (raw.revision[who] ?? '') : '',
          deliveredAt: terminalId ? (raw.first.delivered[who] ?? '') : '',
          readAt: terminalId ? (raw.first.read[who] ?? '') : '',
          acknowledgedAt: terminalId ? (raw.first.acknowledged[who] ?? '') : '',
          completedAt: terminalId ? (raw.first.completed[who] ?? '') : '',
          quizScore: terminalId ? (raw.quiz[who] ?? '') : '',
          reportCount: String(terminalId ? (reports.get(terminalId) ?? 0) : (reports.get('*') ?? 0)),
          staffId: '',
          staffName: '',
          overdue: '',
        };
      };
      if (terminalIds.length === 0) yield row('');
      for (const terminalId of terminalIds.sort()) yield row(terminalId);
      // Then one row per person it reaches there (issue 21), by name.
      const persons = people
        .filter((person) => person.storeId === storeId)
        .map((person) => ({ ...person, name: names.get(person.staffId) ?? ERASED_PERSON }))
        .sort((a, b) => a.name.localeCompare(b.name) || a.staffId.localeCompare(b.staffId));
      for (const person of persons) {
        yield {
          ...row(''),
          reportCount: '',
          readAt: person.seenAt ?? '',
          acknowledgedAt: person.acknowledgedAt ?? '',
          staffId: person.staffId,
          staffName: person.name,
          overdue: overdueNow && !person.acknowledgedAt ? 'yes' : 'no',
        };
      }
    }
  }
}

/** The same rows as auditRowStream, all at once (small audits and tests). */
export async function auditRows(
  redis: Redis,
  keys: RedisKeys,
  communication: CatalogueEntry,
  onlyStore?: string,
): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  for await (const row of auditRowStream(redis, keys, communication, onlyStore)) rows.push(row);
  return rows;
}

/** The communications a store's feed carried between two instants (any entry then). */
export function communicationsInFeed(items: FeedItem[], from?: Date, to?: Date): string[] {
  const ids = new Set<string>();
  for (const item of items) {
    const at = Date.parse(item.at);
    if ((from && at < from.getTime()) || (to && at > to.getTime())) continue;
    ids.add(item.communication.id);
  }
  return [...ids];
}
