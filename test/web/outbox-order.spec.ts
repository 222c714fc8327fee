import { MAX_RECEIPTS_PER_MESSAGE } from '@lastmeter/contracts';
import type { OutboxEntry } from '../../web/src/store/feed-db';
import { DELIVERED_PER_MESSAGE, nextMessage } from '../../web/src/store/outbox-order';

/** The order the tablet sends its outbox in (web/src/store/outbox-order.ts), without a browser. */
const receipt = (id: string, kind: 'delivered' | 'read' | 'acknowledged'): OutboxEntry => ({
  key: `receipt:${id}:${kind}:1`,
  event: 'receipt',
  payload: { communicationId: id, kind, revision: 1 },
});
const completed = (id: string): OutboxEntry => ({
  key: `task:${id}`,
  event: 'task.complete',
  payload: { communicationId: id, revision: 1 },
});
const keys = (entries: OutboxEntry[]) => entries.map((entry) => entry.key);
const delivered = (n: number) => Array.from({ length: n }, (_, i) => receipt(`c${i}`, 'delivered'));

describe('nextMessage', () => {
  it('sends nothing from an empty outbox', () => {
    expect(nextMessage([])).toEqual([]);
  });

  it('puts what a person did before a backlog of "delivered" receipts queued earlier', () => {
    const backlog = delivered(3_000);
    const ack = receipt('c7', 'acknowledged');
    const message = nextMessage([...backlog, ack]);
    expect(message[0]).toBe(ack);
    // Topped up with the oldest "delivered" receipts, as many as one message of them takes.
    expect(keys(message.slice(1))).toEqual(keys(backlog.slice(0, DELIVERED_PER_MESSAGE)));
  });

  it('sends a person’s other facts alone, first, in the order they were queued', () => {
    const done = completed('t1');
    const read = receipt('c1', 'read');
    expect(nextMessage([...delivered(500), done, read])).toEqual([done]);
    // Once it is sent, the person's receipt comes next, ahead of the backlog.
    expect(nextMessage([...delivered(500), read])[0]).toBe(read);
  });

  it('keeps people’s receipts in their order and never makes a message larger than the protocol allows', () => {
    const byHand = Array.from({ length: MAX_RECEIPTS_PER_MESSAGE + 20 }, (_, i) => receipt(`p${i}`, 'read'));
    const message = nextMessage([...delivered(10), ...byHand]);
    expect(keys(message)).toEqual(keys(byHand.slice(0, MAX_RECEIPTS_PER_MESSAGE)));
  });

  it('sends "delivered" receipts in their order, DELIVERED_PER_MESSAGE at a time, when nothing else waits', () => {
    const backlog = delivered(250);
    expect(keys(nextMessage(backlog))).toEqual(keys(backlog.slice(0, DELIVERED_PER_MESSAGE)));
    expect(keys(nextMessage(backlog.slice(0, 30)))).toEqual(keys(backlog.slice(0, 30)));
  });
});
