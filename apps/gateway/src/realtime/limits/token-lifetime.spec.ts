import { atInstant, deviceTokenVerdict, socketLifetime } from './token-lifetime';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-30T09:00:00Z');
const claims = (issuedDaysAgo: number, lifetimeDays: number) => ({
  sub: 't-1',
  role: 'terminal' as const,
  storeId: 's-1',
  roles: [],
  iat: (NOW - issuedDaysAgo * DAY) / 1_000,
  exp: (NOW + (lifetimeDays - issuedDaysAgo) * DAY) / 1_000,
  iss: 'lastmeter',
});

describe('deviceTokenVerdict', () => {
  it('keeps a young token until it expires', () => {
    expect(deviceTokenVerdict(claims(3, 30), 30 * DAY, NOW)).toEqual({ kind: 'valid', expiresAt: NOW + 27 * DAY });
  });

  it('renews a token past half its age, with the same identity and no old times', () => {
    const verdict = deviceTokenVerdict(claims(16, 30), 30 * DAY, NOW);
    expect(verdict).toEqual({ kind: 'renew', claims: { sub: 't-1', role: 'terminal', storeId: 's-1', roles: [] } });
  });

  it('refuses a token past its age', () => {
    expect(deviceTokenVerdict(claims(31, 30), 30 * DAY, NOW)).toEqual({ kind: 'expired' });
  });

  it('caps an old 365-day token at the configured age', () => {
    expect(deviceTokenVerdict(claims(40, 365), 30 * DAY, NOW)).toEqual({ kind: 'expired' });
    expect(deviceTokenVerdict(claims(20, 365), 30 * DAY, NOW).kind).toBe('renew');
  });
});

describe('atInstant', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('fires at an instant beyond setTimeout range, and not if cancelled', () => {
    const start = Date.now();
    const fired: string[] = [];
    atInstant(start + 40 * DAY, () => fired.push('far'));
    const cancel = atInstant(start + 1_000, () => fired.push('cancelled'));
    cancel();
    jest.advanceTimersByTime(30 * DAY);
    expect(fired).toEqual([]);
    jest.advanceTimersByTime(10 * DAY);
    expect(fired).toEqual(['far']);
  });
});

describe('socketLifetime', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());
  const flush = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  it('renews at half of the age and then expires with the renewed token, not the first one', async () => {
    const start = Date.now();
    const events: string[] = [];
    socketLifetime({
      issuedAt: start,
      expiresAt: start + 30 * DAY,
      maxAgeMs: 30 * DAY,
      renew: async () => {
        events.push(`renew@${Math.round((Date.now() - start) / DAY)}`);
        return Date.now();
      },
      expire: () => events.push(`expire@${Math.round((Date.now() - start) / DAY)}`),
    });
    jest.advanceTimersByTime(15 * DAY);
    await flush();
    jest.advanceTimersByTime(20 * DAY); // past the first token's expiry: still alive
    await flush();
    expect(events).toEqual(['renew@15', 'renew@30']);
  });

  it('expires a short-lived token without renewing it, and nothing fires once cancelled', () => {
    const start = Date.now();
    const events: string[] = [];
    socketLifetime({
      issuedAt: start,
      expiresAt: start + 3_000,
      maxAgeMs: 30 * DAY,
      renew: async () => (events.push('renew'), Date.now()),
      expire: () => events.push('expire'),
    });
    const cancel = socketLifetime({
      issuedAt: start,
      expiresAt: start + 3_000,
      maxAgeMs: 30 * DAY,
      renew: async () => (events.push('renew'), Date.now()),
      expire: () => events.push('cancelled'),
    });
    cancel();
    jest.advanceTimersByTime(4_000);
    expect(events).toEqual(['expire']);
  });
});
