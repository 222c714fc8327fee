import type { DomainEvent } from '@lastmeter/contracts';
import type { ProjectionContext } from '../model';
import { RedisKeys } from '../redis-keys';
import { reach } from './reach';

const keys = new RedisKeys('lm:', 'g1');
const comm = '11111111-1111-4111-8111-111111111111';

function writesOf(event: { type: string; data: unknown }): Array<Array<string | number>> {
  const writes: Array<Array<string | number>> = [];
  const context = {
    keys,
    write: (...args: Array<string | number>) => writes.push(args),
    script: (...args: Array<string | number>) => writes.push(args),
    beforeFeed: (...args: Array<string | number>) => writes.push(['before feed', ...args]),
    announce: () => undefined,
  } as unknown as ProjectionContext;
  reach.project({ occurredAt: '2026-01-01T00:00:00.000Z', ...event } as unknown as DomainEvent, context);
  return writes;
}

const counted = (storeId: string, bit: number, step: string) => [
  'lmReachStore',
  `lm:g1:{lm:dir}:reach:${comm}`,
  `lm:g1:{lm:dir}:reach:${comm}:by-region`,
  'lm:g1:{lm:dir}:region-of',
  'lm:g1:{lm:dir}:reach-comms',
  'lm:g1:{lm:dir}:reach-stores',
  storeId,
  bit,
  step,
  comm,
];

describe('reach model', () => {
  it('records a targeted store before its feed item goes out, and counts it once on the directory index slot', () => {
    const writes = writesOf({
      type: 'feed.appended',
      data: { change: 'published', storeId: 's1', communication: { id: comm } },
    });
    expect(writes).toEqual([
      ['before feed', 'SADD', `lm:g1:reach:${comm}:targeted`, 's1'],
      counted('s1', 1, 'targeted'),
    ]);
  });

  it('keeps the first report per terminal and counts the store for the step by region', () => {
    const writes = writesOf({
      type: 'receipt.read',
      data: { storeId: 's1', terminalId: 't1', communicationId: comm },
    });
    expect(writes).toEqual([
      ['HSETNX', `lm:g1:reach:${comm}:read`, 's1/t1', '2026-01-01T00:00:00.000Z'],
      counted('s1', 4, 'read'),
    ]);
    const completed = writesOf({
      type: 'task.completed',
      data: { storeId: 's1', terminalId: 't1', communicationId: comm },
    });
    expect(completed).toContainEqual(counted('s1', 16, 'completed'));
  });

  it('does not count quiz answers by region', () => {
    const writes = writesOf({
      type: 'quiz.answered',
      data: { storeId: 's1', terminalId: 't1', communicationId: comm, score: 2 },
    });
    expect(writes).toEqual([['HSET', `lm:g1:reach:${comm}:quiz`, 's1/t1', 2]]);
  });
});
