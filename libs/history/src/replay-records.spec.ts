import { randomUUID } from 'node:crypto';
import { feedBatchRecord, feedEvent, type DomainEvent } from '@lastmeter/contracts';
import { recordSkipper, toWire, type ReplayFilter } from './replay-filter';
import { InlineParser } from './replay-parser';
import { packRecords, parseRecords, ParsedLines } from './replay-records';

const STORE = randomUUID();
const OTHER_STORE = randomUUID();

function envelope(type: string, schemaVersion: number, aggregateType: string, aggregateId: string, data: object) {
  return {
    id: randomUUID(),
    type,
    schemaVersion,
    aggregateType,
    aggregateId,
    aggregateVersion: 1,
    occurredAt: '2026-11-30T10:00:00.000Z',
    actor: { id: 'admin', role: 'hq-admin' },
    commandId: 'c1',
    correlationId: 'c1',
    causationId: 'c1',
    data,
  };
}

const storeRegistered = envelope('store.registered', 1, 'store', STORE, {
  code: 'P1',
  name: 'Paris',
  regionId: randomUUID(),
  tags: [],
  locale: 'fr-FR',
  timezone: 'Europe/Paris',
});
/** v1: it still carries the password hash, which the upcast to v2 drops. */
const userCreatedV1 = {
  ...envelope('user.created', 1, 'user', randomUUID(), {
    username: 'manager',
    role: 'store-manager',
    storeId: STORE,
    passwordHash: 'scrypt$secret',
  }),
  occurredAt: '2026-11-30T09:00:00.000Z',
};
const feedEntries = [STORE, OTHER_STORE].map(
  (storeId, i) =>
    feedEvent(
      {
        storeId,
        feedSeq: i + 1,
        change: 'published',
        communication: {
          id: randomUUID(),
          revision: 1,
          kind: 'notice',
          title: 'Labels',
          body: 'Aisle 3',
          priority: 'normal',
        },
        sourceVersion: 1,
      },
      randomUUID(),
      '2026-11-30T11:00:00.000Z',
    ) as DomainEvent<'feed.appended'>,
);

const values = [
  Buffer.from(JSON.stringify(storeRegistered)),
  Buffer.from('{"not": "an envelope"'),
  Buffer.from(JSON.stringify(userCreatedV1)),
  Buffer.from(JSON.stringify(feedBatchRecord(feedEntries))),
];

/** Every line of a parse, as [occurredAt, text]. */
function lines(filter: ReplayFilter = {}): Array<[number, string]> {
  const parsed = new ParsedLines(parseRecords(packRecords(values), toWire(filter)));
  const out: Array<[number, string]> = [];
  const target = Buffer.alloc(64 * 1024);
  while (parsed.remaining > 0) {
    const at = parsed.head;
    const length = parsed.copyNext(target, 0);
    out.push([at, target.subarray(0, length).toString()]);
  }
  return out;
}

describe('parseRecords', () => {
  it('answers one NDJSON line per event, in record order, leaving out a malformed record', () => {
    const all = lines();
    expect(all.map(([, line]) => (JSON.parse(line) as DomainEvent).type)).toEqual([
      'store.registered',
      'user.created',
      'feed.appended',
      'feed.appended',
    ]);
    expect(all.every(([, line]) => line.endsWith('\n') && line.indexOf('\n') === line.length - 1)).toBe(true);
    expect(all.map(([at]) => at)).toEqual([
      Date.parse(storeRegistered.occurredAt),
      Date.parse(userCreatedV1.occurredAt),
      Date.parse('2026-11-30T11:00:00.000Z'),
      Date.parse('2026-11-30T11:00:00.000Z'),
    ]);
  });

  it('passes an event at the current schema through as its logged bytes', () => {
    expect(lines()[0][1]).toBe(`${values[0].toString()}\n`);
  });

  it('upcasts an old event, which drops its credential field', () => {
    const user = JSON.parse(lines()[1][1]) as DomainEvent;
    expect(user.schemaVersion).toBe(2);
    expect(user.data).toEqual({ username: 'manager', role: 'store-manager', storeId: STORE });
    expect(lines()[1][1]).not.toContain('scrypt$secret');
  });

  it("expands a feed batch record into each entry's feed.appended event, content included", () => {
    const feed = lines()
      .slice(2)
      .map(([, line]) => JSON.parse(line) as DomainEvent<'feed.appended'>);
    expect(feed).toEqual(feedEntries);
  });

  it('keeps only what the filter matches', () => {
    const types = (filter: ReplayFilter) => lines(filter).map(([, line]) => (JSON.parse(line) as DomainEvent).type);
    expect(types({ storeId: STORE })).toEqual(['store.registered', 'user.created', 'feed.appended']);
    expect(types({ types: ['user.created'] })).toEqual(['user.created']);
    expect(types({ from: new Date('2026-11-30T09:30:00Z'), to: new Date('2026-11-30T10:30:00Z') })).toEqual([
      'store.registered',
    ]);
    expect(types({ aggregateId: OTHER_STORE })).toEqual(['feed.appended']);
  });

  it('answers an empty parse for records that all fail', () => {
    const parsed = new ParsedLines(parseRecords(packRecords([Buffer.from('nope')]), {}));
    expect([parsed.count, parsed.records]).toEqual([0, 1]);
  });

  it('flags a batch that holds a sealed personal field, and only such a batch', () => {
    const staffAdded = envelope('staff.added', 1, 'staff', randomUUID(), {
      storeId: STORE,
      name: { enc: 'A256GCM', iv: 'aXY', data: 'c2VhbGVk' },
      roles: ['cashier'],
    });
    const sealed = new ParsedLines(parseRecords(packRecords([...values, Buffer.from(JSON.stringify(staffAdded))]), {}));
    expect([sealed.count, sealed.sealed]).toEqual([5, true]);
    // Filtered out, it flags nothing: nothing sealed is handed out.
    const filtered = new ParsedLines(
      parseRecords(packRecords([...values, Buffer.from(JSON.stringify(staffAdded))]), { types: ['store.registered'] }),
    );
    expect([filtered.count, filtered.sealed]).toEqual([1, false]);
    expect(new ParsedLines(parseRecords(packRecords(values), {})).sealed).toBe(false);
  });

  it('hands out a line longer than the output buffer whole', () => {
    const parsed = new ParsedLines(parseRecords(packRecords(values), {}));
    expect(parsed.copyNext(Buffer.alloc(10), 0)).toBe(-1);
    expect(parsed.takeNext().toString()).toBe(`${values[0].toString()}\n`);
    expect(parsed.remaining).toBe(3);
  });

  it('is what the inline parser answers', async () => {
    const inline = await new InlineParser().parse(packRecords(values), {});
    expect(Buffer.from(inline)).toEqual(Buffer.from(parseRecords(packRecords(values), {})));
  });
});

describe('recordSkipper', () => {
  it('gives no shortcut without a type, aggregate or store filter', () => {
    expect(recordSkipper(toWire({ from: new Date() }))).toBeUndefined();
  });

  it('skips by the type header, a feed batch standing for feed.appended, and keeps a record without one', () => {
    const skip = recordSkipper(toWire({ types: ['feed.appended'] }))!;
    expect(skip('store.registered', values[0])).toBe(true);
    expect(skip('feed.batch', values[3])).toBe(false);
    expect(skip(undefined, values[0])).toBe(false);
  });

  it('skips a record whose bytes do not hold the id asked for', () => {
    const skip = recordSkipper(toWire({ storeId: OTHER_STORE }))!;
    expect(skip('store.registered', values[0])).toBe(true);
    expect(skip('feed.batch', values[3])).toBe(false);
  });

  it('never skips by an id that JSON would escape', () => {
    const skip = recordSkipper(toWire({ aggregateId: 'say "hi"' }));
    expect(skip).toBeUndefined();
  });

  it('never skips a record that the parse would keep', () => {
    for (const filter of [{ storeId: STORE }, { types: ['user.created'] }, { aggregateId: OTHER_STORE }]) {
      const skip = recordSkipper(toWire(filter))!;
      const kept = values.filter((value, i) => !skip(i === 3 ? 'feed.batch' : undefined, value));
      const all = new ParsedLines(parseRecords(packRecords(values), toWire(filter))).count;
      expect(new ParsedLines(parseRecords(packRecords(kept), toWire(filter))).count).toBe(all);
    }
  });
});
