import { appDigest, type DigestedApp } from './app-digest';

const T0 = Date.parse('2026-12-05T04:00:00.000Z');

const line = (level: number, at: number, msg: string, context = 'Ctx') =>
  JSON.stringify({ level, time: T0 + at, app: 'x', pid: 1, context, msg });

const app = (name: string, output: string[], ended?: string): DigestedApp => ({
  name,
  pid: 42,
  output,
  ended: () => ended,
});

describe('appDigest', () => {
  it('is undefined for a suite that started no app', () => {
    expect(appDigest([], T0)).toBeUndefined();
  });

  it('lists the warnings and errors logged since the test began, then each app’s last lines', () => {
    const digest = appDigest(
      [
        app('projector', [
          line(40, -5_000, 'an older warning'),
          line(30, 100, 'projecting'),
          line(40, 200, 'batch sought back'),
          line(50, 300, 'projector stopped'),
          line(30, 400, 'still here'),
        ]),
        app('gateway', ['not json at all'], 'SIGKILL'),
      ],
      T0,
    )!;
    expect(digest.split('\n')).toEqual([
      "The suite's apps, as they logged during the failed test:",
      'projector (pid 42): 2 warnings or errors during the test',
      '  04:00:00.200 WARN [Ctx] batch sought back',
      '  04:00:00.300 ERROR [Ctx] projector stopped',
      '  … last lines:',
      '  04:00:00.400 INFO [Ctx] still here',
      'gateway (pid 42, ended: SIGKILL): 1 warnings or errors during the test',
      '  not json at all',
    ]);
  });

  it('keeps the last twelve warnings of an app and cuts long lines', () => {
    const output = Array.from({ length: 20 }, (_, i) => line(40, i, `warning ${i} ${'x'.repeat(i === 19 ? 400 : 0)}`));
    const [, header, ...rest] = appDigest([app('command', output)], T0)!.split('\n');
    expect(header).toBe('command (pid 42): 12 warnings or errors during the test');
    expect(rest).toHaveLength(12);
    expect(rest[0]).toContain('warning 8');
    expect(rest[11]!.length).toBeLessThanOrEqual(2 + 300 + 1);
    expect(rest[11]!.endsWith('…')).toBe(true);
  });
});
