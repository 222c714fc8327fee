import { v5 as uuidv5 } from 'uuid';
import { feedBatchRecord, feedEvent, FEED_BATCH, type FeedCommunication } from './events/feed';
import { InvalidEnvelope, parseRecord } from './parse-envelope';

const content = (revision: number): FeedCommunication => ({
  id: 'c1',
  revision,
  kind: 'notice',
  title: `T${revision}`,
  body: 'B',
  priority: 'normal',
});
const entry = (storeId: string, feedSeq: number, revision = 1) =>
  feedEvent(
    {
      storeId,
      feedSeq,
      change: revision > 1 ? 'revised' : 'published',
      communication: content(revision),
      sourceVersion: revision,
    },
    uuidv5(`${storeId}:${feedSeq}`, uuidv5.URL),
    '2026-11-30T12:00:00.000Z',
  );

describe('parseRecord', () => {
  it('reads a record of one envelope as that envelope', () => {
    const one = entry('s1', 1);
    expect(parseRecord(JSON.stringify(one))).toEqual([one]);
  });

  it('expands a feed batch into its entries, in order, with equal content stored once', () => {
    const entries = [entry('s1', 1), entry('s2', 4), entry('s1', 2, 2)];
    const record = feedBatchRecord(entries);
    expect(record.communications).toEqual([content(1), content(2)]);
    expect(parseRecord(Buffer.from(JSON.stringify(record)))).toEqual(entries);
  });

  it("keeps a store's evidence rejection on its entry", () => {
    const rejected = entry('s1', 3);
    rejected.data = { ...rejected.data, change: 'revised', evidenceRejected: { reason: 'Blurry', rejection: 1 } };
    const entries = [entry('s2', 1), rejected];
    const record = feedBatchRecord(entries);
    expect(record.communications).toEqual([content(1)]);
    expect(parseRecord(JSON.stringify(record))).toEqual(entries);
  });

  it('refuses a malformed batch as a whole', () => {
    expect(() => parseRecord(JSON.stringify({ type: FEED_BATCH, entries: [] }))).toThrow(InvalidEnvelope);
    const dangling = { ...feedBatchRecord([entry('s1', 1)]), communications: [] };
    expect(() => parseRecord(JSON.stringify(dangling))).toThrow('not in the record');
    const bad = feedBatchRecord([entry('s1', 1)]);
    bad.entries[0]!.id = 'not-a-uuid';
    expect(() => parseRecord(JSON.stringify(bad))).toThrow('id must be a UUID');
  });
});
