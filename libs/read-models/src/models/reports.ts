import type Redis from 'ioredis';
import type { DomainEvent, ReportView } from '@lastmeter/contracts';
import { newestFirst } from '../cursor';
import { requireStrings, type ProjectionContext, type ReadModel } from '../model';
import type { RedisKeys } from '../redis-keys';
import { pageIndex, type Page } from './catalogue';

export type Report = ReportView;

/** The field-reports inbox: every report, newest first, overall and per store. */
export const reports: ReadModel = {
  name: 'reports',
  project(event: DomainEvent, context: ProjectionContext): void {
    if (event.type !== 'report.filed') return;
    requireStrings(event.data, 'storeId', 'reportId', 'title', 'authorId');
    const { keys } = context;
    const report: Report = { ...event.data, filedAt: event.occurredAt };
    const member = newestFirst(event.occurredAt, event.data.reportId);
    context.write('SET', keys.model('report', event.data.reportId), JSON.stringify(report));
    context.write('ZADD', keys.model('reports'), 0, member);
    context.write('ZADD', keys.model('reports', event.data.storeId), 0, member);
    context.announce({ kind: 'report-filed', storeId: event.data.storeId, reportId: event.data.reportId });
  },
};

export async function listReports(
  redis: Redis,
  keys: RedisKeys,
  options: { storeId?: string; cursor?: string; limit: number },
): Promise<Page<Report> | undefined> {
  const index = options.storeId ? keys.model('reports', options.storeId) : keys.model('reports');
  const page = await pageIndex(redis, index, options.cursor, options.limit);
  if (!page) return undefined;
  const values = page.ids.length ? await redis.mget(page.ids.map((id) => keys.model('report', id))) : [];
  return {
    items: values.filter((v): v is string => !!v).map((v) => JSON.parse(v) as Report),
    ...(page.next ? { next: page.next } : {}),
  };
}

export async function getReport(redis: Redis, keys: RedisKeys, id: string): Promise<Report | undefined> {
  const value = await redis.get(keys.model('report', id));
  return value ? (JSON.parse(value) as Report) : undefined;
}
