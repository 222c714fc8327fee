import {
  feedBatchRecord,
  feedEvent,
  feedItemOf,
  parseRecord,
  type DomainEvent,
  type FeedCommunication,
} from '@lastmeter/contracts';
import { decodeFeedNotice, NOTICE_ITEMS_MAX_CHARS } from '@lastmeter/redis';
import { v5 as uuidv5 } from 'uuid';
import { committedFeedNotice } from './feed-notifier';

const IDS = '0b3c1f0e-93a4-4d0b-8f4e-5b7a2a9c6d11';

const communication = (id: string, body = 'b'): FeedCommunication => ({
  id,
  revision: 2,
  kind: 'notice',
  title: id,
  body,
  priority: 'normal',
});

/** A feed entry as the sequencer builds it, created at `at`. */
function entry(storeId: string, feedSeq: number, content: FeedCommunication, at: string) {
  return feedEvent(
    { storeId, feedSeq, change: 'published', communication: content, sourceVersion: 3 },
    uuidv5(`${storeId}:${feedSeq}`, IDS),
    at,
  );
}

/** What a projector stores for the record the writer appends for these entries. */
function stored(entries: Array<DomainEvent<'feed.appended'>>): string[] {
  const record = JSON.stringify(feedBatchRecord(entries));
  return parseRecord(record).map((event) => JSON.stringify(feedItemOf(event as DomainEvent<'feed.appended'>)));
}

describe('committedFeedNotice', () => {
  it('carries each entry exactly as the projector will store it, the record’s time included', () => {
    const c1 = communication('c1');
    // The entries of one record were built a few milliseconds apart; the record has one time.
    const first = [entry('s1', 4, c1, '2026-12-04T10:00:00.001Z'), entry('s2', 1, c1, '2026-12-04T10:00:00.003Z')];
    const second = [entry('s3', 7, communication('c2'), '2026-12-04T10:00:00.009Z')];
    const notice = committedFeedNotice([
      { partition: 0, entries: first },
      { partition: 1, entries: second },
    ]);
    const [s1, s2] = stored(first);
    expect(notice!.carried).toEqual([true, true]);
    expect(decodeFeedNotice(notice!.message)).toEqual([
      { storeId: 's1', feedSeq: 4, items: [s1] },
      { storeId: 's2', feedSeq: 1, items: [s2] },
      { storeId: 's3', feedSeq: 7, items: stored(second) },
    ]);
    expect(JSON.parse(s2!)).toMatchObject({ feedSeq: 1, at: '2026-12-04T10:00:00.001Z', change: 'published' });
  });

  it('stops at the bound: the stores up to it (a run cut short up to its last item), none after', () => {
    const body = 'x'.repeat(NOTICE_ITEMS_MAX_CHARS / 4);
    const at = '2026-12-04T10:00:00.000Z';
    const big = communication('big', body);
    const entries = [entry('s1', 1, big, at), entry('s1', 2, big, at), entry('s1', 3, big, at)];
    entries.push(entry('s1', 4, big, at), entry('s2', 1, big, at));
    const notice = committedFeedNotice([{ partition: 0, entries }])!;
    expect(decodeFeedNotice(notice.message)).toEqual([
      { storeId: 's1', feedSeq: 3, items: stored(entries).slice(0, 3) },
    ]);
    // The record is not carried whole: a projector must not let it wait.
    expect(notice.carried).toEqual([false]);
    // Chunks as records: the first carried whole, the second cut (s1 4), the third not at all.
    const split = committedFeedNotice([
      { partition: 0, entries: entries.slice(0, 2) },
      { partition: 0, entries: entries.slice(2, 4) },
      { partition: 1, entries: entries.slice(4) },
    ])!;
    expect(split.carried).toEqual([true, false, false]);
    // Nothing fits: no notice at all.
    const huge = communication('huge', 'x'.repeat(NOTICE_ITEMS_MAX_CHARS));
    expect(committedFeedNotice([{ partition: 0, entries: [entry('s1', 1, huge, at)] }])).toBeUndefined();
    expect(committedFeedNotice([])).toBeUndefined();
  });
});
