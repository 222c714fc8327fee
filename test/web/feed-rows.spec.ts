import type { FeedItem } from '@lastmeter/contracts';
import { feedRows } from '../../web/src/store/feed-rows';

const item = (feedSeq: number, id: string, briefAt?: string): FeedItem => ({
  feedSeq,
  change: 'published',
  at: '2026-12-02T08:00:00.000Z',
  communication: { id, revision: 1, kind: 'notice', title: id, body: '', priority: 'normal' },
  ...(briefAt ? { brief: { at: briefAt, date: briefAt.slice(0, 10) } } : {}),
});

describe('the tablet’s feed rows', () => {
  it('gathers the items of a daily brief into one row where its newest item stands, oldest item first', () => {
    const monday = '2026-11-30T08:00:00.000Z';
    const tuesday = '2026-12-01T08:00:00.000Z';
    // Newest first, as the tablet keeps its active list.
    const rows = feedRows([
      item(7, 'urgent'),
      item(6, 'rota', tuesday),
      item(5, 'planogram', tuesday),
      item(4, 'live now'),
      item(3, 'uniforms', monday),
    ]);
    expect(
      rows.map((row) =>
        'brief' in row ? [row.brief.date, row.items.map((i) => i.communication.id)] : row.item.communication.id,
      ),
    ).toEqual(['urgent', ['2026-12-01', ['planogram', 'rota']], 'live now', ['2026-11-30', ['uniforms']]]);
  });
});
