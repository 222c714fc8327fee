import { MessageBudget } from './message-budget';

describe('MessageBudget', () => {
  let clock = 0;
  const budget = () => new MessageBudget({ rate: 10, burst: 5, strikes: 3 }, () => clock);
  beforeEach(() => (clock = 0));

  it('lets a burst through, then refuses until tokens come back at the rate', () => {
    const limits = budget();
    expect(Array.from({ length: 6 }, () => limits.take('t1'))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'rate-limited']);
    clock += 100; // one token at 10/s
    expect(limits.take('t1')).toBe('ok');
    expect(limits.take('t1')).toBe('rate-limited');
  });

  it('keeps terminals apart', () => {
    const limits = budget();
    for (let i = 0; i < 5; i++) limits.take('flooder');
    expect(limits.take('flooder')).toBe('rate-limited');
    expect(limits.take('quiet')).toBe('ok');
  });

  it('counts every item of a batch', () => {
    const limits = budget();
    expect(limits.take('t1', 4)).toBe('ok');
    expect(limits.take('t1', 2)).toBe('rate-limited');
    expect(limits.take('t1', 1)).toBe('ok');
  });

  it('grants a message of many items as many tokens as there are, in order; none left is a strike', () => {
    const limits = budget();
    expect(limits.takeUpTo('t1', 3)).toEqual({ granted: 3, verdict: 'ok' });
    expect(limits.takeUpTo('t1', 4)).toEqual({ granted: 2, verdict: 'ok' });
    expect([1, 2, 3].map(() => limits.takeUpTo('t1', 4))).toEqual([
      { granted: 0, verdict: 'rate-limited' },
      { granted: 0, verdict: 'rate-limited' },
      { granted: 0, verdict: 'rate-limited' },
    ]);
    expect(limits.takeUpTo('t1', 4)).toEqual({ granted: 0, verdict: 'flooding' });
    clock += 250; // two and a half tokens: two whole ones
    expect(limits.takeUpTo('t1', 4)).toEqual({ granted: 2, verdict: 'ok' });
    // A partly granted message resets the strikes like any accepted one.
    expect(limits.takeUpTo('t1', 1)).toEqual({ granted: 0, verdict: 'rate-limited' });
  });

  it('calls a sender that keeps going after the strikes flooding, and forgives after an accepted message', () => {
    const limits = budget();
    for (let i = 0; i < 5; i++) limits.take('t1');
    expect([1, 2, 3].map(() => limits.take('t1'))).toEqual(['rate-limited', 'rate-limited', 'rate-limited']);
    expect(limits.take('t1')).toBe('flooding');
    clock += 1_000;
    expect(limits.take('t1')).toBe('ok');
    for (let i = 0; i < 4; i++) limits.take('t1');
    expect(limits.take('t1')).toBe('rate-limited');
  });

  it('forgets only buckets that refilled completely', () => {
    const limits = budget();
    limits.take('t1', 5);
    limits.take('t2', 1);
    clock += 150; // t2 is full again, t1 is not
    limits.sweep();
    expect(limits.size).toBe(1);
    clock += 1_000;
    limits.sweep();
    expect(limits.size).toBe(0);
  });
});
