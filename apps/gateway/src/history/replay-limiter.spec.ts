import { ReplayLimiter, type ReplayRefusal, type ReplaySlot } from './replay-limiter';

const slot = (result: ReplaySlot | ReplayRefusal): ReplaySlot => {
  if (!('release' in result)) throw new Error(`refused: ${result.scope}`);
  return result;
};

describe('ReplayLimiter', () => {
  it('refuses a user beyond its limit, and serves others', () => {
    const limiter = new ReplayLimiter(2, 8);
    slot(limiter.acquire('a'));
    const second = slot(limiter.acquire('a'));
    expect(limiter.acquire('a')).toEqual({ scope: 'user', limit: 2 });
    slot(limiter.acquire('b'));
    expect(limiter.active).toBe(3);
    second.release();
    slot(limiter.acquire('a'));
  });

  it('refuses everyone beyond the gateway limit until a slot is released', () => {
    const limiter = new ReplayLimiter(2, 3);
    const first = slot(limiter.acquire('a'));
    slot(limiter.acquire('b'));
    slot(limiter.acquire('c'));
    expect(limiter.acquire('d')).toEqual({ scope: 'gateway', limit: 3 });
    first.release();
    slot(limiter.acquire('d'));
  });

  it('releases a slot once, however often release is called', () => {
    const limiter = new ReplayLimiter(1, 2);
    const first = slot(limiter.acquire('a'));
    slot(limiter.acquire('b'));
    first.release();
    first.release();
    expect(limiter.active).toBe(1);
    slot(limiter.acquire('a'));
    expect(limiter.acquire('c')).toEqual({ scope: 'gateway', limit: 2 });
  });
});
