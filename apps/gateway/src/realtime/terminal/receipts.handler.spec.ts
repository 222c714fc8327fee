import type { Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { signStaffToken } from '@lastmeter/auth';
import { MAX_RECEIPTS_PER_MESSAGE, RATE_LIMITED, WRITER_BUSY } from '@lastmeter/contracts';
import type { TerminalSession } from '../feed-relay';
import type { StoreActivityWriter } from '../store-activity-writer';
import type { FeedCheck, FactSubject } from './feed-check';
import { parseMessage, Rejected } from './message';
import { parseReceipt, ReceiptDto, ReceiptHandler } from './receipt.handler';
import { ReceiptsHandler } from './receipts.handler';
import { StaffSessions } from './staff-sessions';

const jwt = new JwtService({ secret: 'a test secret of enough length for HS256' });

const session = {
  terminalId: 'terminal-1',
  storeId: 'store-1',
  claims: { sub: 'terminal-1', role: 'terminal', storeId: 'store-1' },
} as TerminalSession;
const logger = { warn: jest.fn() } as unknown as Logger;
const ours = '0b9e8a52-4f6c-4c1e-9d3a-2f1b7c6d5e4a';
const theirs = '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const receipt = (communicationId = ours, kind = 'read', revision = 1) => ({ communicationId, kind, revision });

/** Writer and feed check in memory: the feed carried `ours` only, at revision 2. */
function handlers() {
  const recorded: string[] = [];
  const writer = {
    room: 1_000,
    factId: (...parts: string[]) => parts.join('/'),
    record: jest.fn(async (type: string, id: string) => {
      const duplicate = recorded.includes(id);
      if (!duplicate) recorded.push(id);
      return { duplicate };
    }),
    // As the fact writer does: answered later, never within the call.
    submit: jest.fn((type: string, id: string, _actor: unknown, _data: unknown, done: (o: unknown) => void) => {
      const duplicate = recorded.includes(id);
      if (!duplicate) recorded.push(id);
      setImmediate(() => done({ duplicate }));
    }),
  };
  const checked: FactSubject[][] = [];
  const feed = {
    check: jest.fn(async (_: TerminalSession, facts: FactSubject[]) => {
      checked.push(facts);
      return facts.map((f) => (f.communicationId === ours ? undefined : new Rejected(`not in this store's feed`)));
    }),
  };
  const single = new ReceiptHandler(
    writer as unknown as StoreActivityWriter,
    feed as unknown as FeedCheck,
    new StaffSessions(jwt),
  );
  return {
    batch: new ReceiptsHandler(single, writer as unknown as StoreActivityWriter),
    writer,
    recorded,
    checked,
  };
}

describe('parseReceipt', () => {
  it.each([
    ['a well-formed receipt', receipt()],
    ['an upper-case uuid', receipt(ours.toUpperCase())],
    ['a large revision', receipt(ours, 'acknowledged', 2 ** 40)],
    ['a missing field', { communicationId: ours, kind: 'read' }],
    ['an unknown field', { ...receipt(), extra: 1 }],
    ['a bad uuid', receipt('nope')],
    ['a uuid of no version', receipt('0b9e8a52-4f6c-0c1e-9d3a-2f1b7c6d5e4a')],
    ['an unknown kind', receipt(ours, 'seen')],
    ['revision 0', receipt(ours, 'read', 0)],
    ['a fractional revision', receipt(ours, 'read', 1.5)],
    ['a revision as a string', { ...receipt(), revision: '1' }],
    ['null', null],
    ['an array', [receipt()]],
    ['a staff session', { ...receipt(), staff: 'aaa.bbb.ccc' }],
    ['a staff session of the wrong type', { ...receipt(), staff: 42 }],
    ['an empty staff session', { ...receipt(), staff: '' }],
  ])('decides %s exactly as ReceiptDto does', async (_case, body) => {
    const viaDto = await parseMessage(ReceiptDto, body).then(
      (dto) => ({ ...dto }),
      (error: { fields?: unknown }) => ({ refused: error.fields }),
    );
    const fast = await parseReceipt(body).then(
      (parsed) => ({ ...parsed }),
      (error: { fields?: unknown }) => ({ refused: error.fields }),
    );
    expect(fast).toEqual(viaDto);
  });
});

describe('ReceiptsHandler', () => {
  it('answers each item in order: recorded, duplicate, invalid, another store’s, and writes only the good ones', async () => {
    const { batch, recorded, checked } = handlers();
    const items = [receipt(), receipt(), receipt(ours, 'seen'), receipt(theirs), receipt(ours, 'delivered')];
    const ack = await batch.handle(session, { items }, items.length, logger);
    expect(ack.ok).toBe(true);
    expect(ack.results).toEqual([
      { ok: true },
      { ok: true, duplicate: true },
      { ok: false, error: { message: 'invalid message: kind', fields: { kind: [expect.any(String)] } } },
      { ok: false, error: { message: "not in this store's feed" } },
      { ok: true },
    ]);
    expect(recorded).toEqual([`terminal-1/read/${ours}/1`, `terminal-1/delivered/${ours}/1`]);
    // One feed check for all valid items.
    expect(checked).toHaveLength(1);
    expect(checked[0]).toHaveLength(4);
  });

  it('records a signed-in person’s receipt as theirs: two people on one tablet are two facts, a bad session none', async () => {
    const { batch, writer, recorded } = handlers();
    const ann = await signStaffToken(jwt, { sub: 'ann', storeId: 'store-1', tid: 'terminal-1', roles: ['cashier'] });
    const bob = await signStaffToken(jwt, { sub: 'bob', storeId: 'store-1', tid: 'terminal-1', roles: ['sales'] });
    const elsewhere = await signStaffToken(jwt, { sub: 'eve', storeId: 'store-1', tid: 'terminal-2', roles: [] });
    const acked = (staff: string) => ({ ...receipt(ours, 'acknowledged'), staff });
    const items = [acked(ann), acked(bob), acked(ann), acked(elsewhere), acked('not.a.token')];
    const ack = await batch.handle(session, { items }, items.length, logger);
    expect(ack.results).toEqual([
      { ok: true },
      { ok: true },
      { ok: true, duplicate: true },
      { ok: false, error: { message: 'invalid message: staff', fields: { staff: [expect.any(String)] } } },
      { ok: false, error: { message: 'invalid message: staff', fields: { staff: [expect.any(String)] } } },
    ]);
    expect(recorded).toEqual([`terminal-1/acknowledged/${ours}/1/ann`, `terminal-1/acknowledged/${ours}/1/bob`]);
    const data = writer.submit.mock.calls.map((call) => call[3]);
    expect(data[0]).toEqual({
      storeId: 'store-1',
      terminalId: 'terminal-1',
      communicationId: ours,
      revision: 1,
      staffId: 'ann',
    });
    expect(data[1]).toMatchObject({ staffId: 'bob' });
  });

  it('answers the items beyond the granted tokens rate-limited, without touching them', async () => {
    const { batch, recorded } = handlers();
    const items = [receipt(ours, 'delivered'), receipt(ours, 'read'), receipt(ours, 'acknowledged')];
    const ack = await batch.handle(session, { items }, 1, logger);
    expect(ack.results).toEqual([
      { ok: true },
      { ok: false, error: { message: RATE_LIMITED } },
      { ok: false, error: { message: RATE_LIMITED } },
    ]);
    expect(recorded).toHaveLength(1);
  });

  it('answers busy, without touching them, the granted items the writer has no room for', async () => {
    const { batch, writer, recorded, checked } = handlers();
    writer.room = 1;
    const items = [receipt(ours, 'delivered'), receipt(ours, 'read'), receipt(ours, 'acknowledged')];
    const ack = await batch.handle(session, { items }, 2, logger);
    expect(ack.results).toEqual([
      { ok: true },
      { ok: false, error: { message: WRITER_BUSY } },
      { ok: false, error: { message: RATE_LIMITED } },
    ]);
    expect(recorded).toHaveLength(1);
    expect(checked).toEqual([[{ communicationId: ours, kind: 'delivered', revision: 1 }]]);
  });

  it.each([
    ['not an object', 'receipts', ['$']],
    ['no items', {}, ['items']],
    ['items not an array', { items: receipt() }, ['items']],
    ['no item at all', { items: [] }, ['items']],
    ['too many items', { items: Array.from({ length: MAX_RECEIPTS_PER_MESSAGE + 1 }, () => receipt()) }, ['items']],
    ['an unknown field', { items: [receipt()], urgent: true }, ['urgent']],
  ])('refuses a message with %s as a whole, writing nothing', async (_case, body, fields) => {
    const { batch, recorded } = handlers();
    const ack = await batch.handle(session, body, ReceiptsHandler.cost(body), logger);
    expect(ack).toEqual({ ok: false, error: { message: expect.any(String), fields: expect.any(Object) } });
    expect(Object.keys(ack.error!.fields!)).toEqual(fields);
    expect(recorded).toEqual([]);
  });

  it('costs a token per item, and one for a message that is not a batch', () => {
    expect(ReceiptsHandler.cost({ items: [receipt(), receipt()] })).toBe(2);
    expect(ReceiptsHandler.cost({ items: Array.from({ length: 501 }, () => receipt()) })).toBe(1);
    expect(ReceiptsHandler.cost({ items: [] })).toBe(1);
    expect(ReceiptsHandler.cost(null)).toBe(1);
  });
});
