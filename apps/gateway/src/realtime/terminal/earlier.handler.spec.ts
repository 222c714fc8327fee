import { EARLIER_DEFAULT_LIMIT, EARLIER_MAX_LIMIT } from '@lastmeter/contracts';
import { nextBefore, parseEarlier } from './earlier.handler';

describe('parseEarlier', () => {
  it('takes before, with the default limit', () => {
    expect(parseEarlier({ before: 10 })).toEqual({ before: 10, limit: EARLIER_DEFAULT_LIMIT });
    expect(parseEarlier({ before: 1, limit: EARLIER_MAX_LIMIT })).toEqual({ before: 1, limit: EARLIER_MAX_LIMIT });
  });

  it.each([
    [null, 'body'],
    [[1], 'body'],
    ['x', 'body'],
    [{}, 'before'],
    [{ before: 0 }, 'before'],
    [{ before: 1.5 }, 'before'],
    [{ before: '3' }, 'before'],
    [{ before: 3, limit: 0 }, 'limit'],
    [{ before: 3, limit: EARLIER_MAX_LIMIT + 1 }, 'limit'],
    [{ before: 3, after: 1 }, 'after'],
  ])('refuses %j with an error on %s', (body, field) => {
    const parsed = parseEarlier(body);
    expect('fields' in parsed && Object.keys(parsed.fields)).toContain(field);
  });
});

describe('nextBefore', () => {
  const seqs = (...feedSeqs: number[]) => feedSeqs.map((feedSeq) => ({ feedSeq }));

  it.each([
    [seqs(9, 8, 7), 3, 7],
    [seqs(9, 8), 3, undefined],
    [seqs(3, 2, 1), 3, undefined],
    [seqs(), 3, undefined],
  ])('after %j with limit %i: %s', (items, limit, next) => {
    expect(nextBefore(items, limit)).toBe(next);
  });
});
