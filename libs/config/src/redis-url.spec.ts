import { parseSentinelUrl } from './redis-url';

describe('parseSentinelUrl', () => {
  it('reads the Sentinels, the master name and the db', () => {
    expect(parseSentinelUrl('redis+sentinel://127.0.0.1:26379,127.0.0.1:26380,localhost:26381/lastmeter/2')).toEqual({
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: '127.0.0.1', port: 26380 },
        { host: 'localhost', port: 26381 },
      ],
      name: 'lastmeter',
      db: 2,
    });
    expect(parseSentinelUrl('redis+sentinel://127.0.0.1:26379/lastmeter')).toMatchObject({ db: 0 });
  });

  it('leaves a plain redis:// URL alone', () => {
    expect(parseSentinelUrl('redis://127.0.0.1:6379')).toBeUndefined();
  });

  it.each([
    'redis+sentinel://127.0.0.1:26379',
    'redis+sentinel://127.0.0.1/lastmeter',
    'redis+sentinel://127.0.0.1:0/lastmeter',
    'redis+sentinel://:26379/lastmeter',
    'redis+sentinel://127.0.0.1:26379/last meter',
  ])('refuses %s', (url) => {
    expect(() => parseSentinelUrl(url)).toThrow(/is not/);
  });
});
