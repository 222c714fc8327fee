import type Redis from 'ioredis';
import {
  listStores,
  listTerminals,
  readReach,
  type CatalogueEntry,
  type FeedItem,
  type RedisKeys,
  type Report,
} from '@lastmeter/read-models';

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

/**
 * One row per store the communication targeted (or that reported on it) and terminal of
 * that store: the revision it last reported on, when it first reported each step, its
 * quiz score, and how many field reports it filed since the communication was published.
 * A store without terminals gets one row with an empty terminal.
 */
export async function auditRows(
  redis: Redis,
  keys: RedisKeys,
  communication: CatalogueEntry,
  onlyStore?: string,
): Promise<AuditRow[]> {
  const [raw, stores] = await Promise.all([readReach(redis, keys, communication.id), listStores(redis, keys)]);
  const storeById = new Map(stores.map((s) => [s.id, s]));
  const reported = new Set<string>();
  for (const step of Object.values(raw.first)) for (const who of Object.keys(step)) reported.add(who);
  for (const who of Object.keys(raw.quiz)) reported.add(who);
  const storeIds = [...new Set([...raw.targeted, ...[...reported].map((who) => who.split('/')[0])])]
    .filter((id) => !onlyStore || id === onlyStore)
    .sort((a, b) => (storeById.get(a)?.code ?? a).localeCompare(storeById.get(b)?.code ?? b));
  const since = communication.publishedAt ?? communication.createdAt;
  const rows: AuditRow[] = [];
  for (const storeId of storeIds) {
    const store = storeById.get(storeId);
    const terminals = await listTerminals(redis, keys, storeId);
    const names = new Map(terminals.map((t) => [t.id, t.name]));
    const terminalIds = [
      ...new Set([
        ...terminals.map((t) => t.id),
        ...[...reported].filter((who) => who.startsWith(`${storeId}/`)).map((who) => who.split('/')[1]),
      ]),
    ];
    const reports = await reportsSince(redis, keys, storeId, since);
    const row = (terminalId: string): AuditRow => {
      const who = `${storeId}/${terminalId}`;
      return {
        communicationId: communication.id,
        title: communication.title,
        currentRevision: String(communication.revision),
        storeId,
        storeCode: store?.code ?? '',
        regionId: store?.regionId ?? '',
        targeted: raw.targeted.includes(storeId) ? 'yes' : 'no',
        terminalId,
        terminalName: names.get(terminalId) ?? '',
        revisionSeen: terminalId ? (raw.revision[who] ?? '') : '',
        deliveredAt: terminalId ? (raw.first.delivered[who] ?? '') : '',
        readAt: terminalId ? (raw.first.read[who] ?? '') : '',
        acknowledgedAt: terminalId ? (raw.first.acknowledged[who] ?? '') : '',
        completedAt: terminalId ? (raw.first.completed[who] ?? '') : '',
        quizScore: terminalId ? (raw.quiz[who] ?? '') : '',
        reportCount: String(terminalId ? (reports.get(terminalId) ?? 0) : (reports.get('*') ?? 0)),
      };
    };
    if (terminalIds.length === 0) rows.push(row(''));
    for (const terminalId of terminalIds.sort()) rows.push(row(terminalId));
  }
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
