import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_V8_FLAGS, appNodeArgs } from './app-node';
import { repoRoot } from './paths';

describe('appNodeArgs', () => {
  it("puts source maps and the app's V8 flags before any extra argument", () => {
    expect(appNodeArgs('gateway', ['--cpu-prof'])).toEqual([
      '--enable-source-maps',
      ...APP_V8_FLAGS.gateway,
      '--cpu-prof',
    ]);
    expect(appNodeArgs('command')).toEqual(['--enable-source-maps', ...APP_V8_FLAGS.command]);
  });

  it('is what the container image starts each app with', () => {
    const dockerfile = readFileSync(join(repoRoot(), 'Dockerfile'), 'utf8');
    const cmd = dockerfile.split('\n').find((line) => line.startsWith('CMD '));
    // The image's shell picks the flags by $APP: the command service's, or the others' (the same for both).
    expect(APP_V8_FLAGS.projector).toEqual(APP_V8_FLAGS.gateway);
    expect(cmd).toContain(
      `case $APP in command) FLAGS='${APP_V8_FLAGS.command.join(' ')}';; *) FLAGS='${APP_V8_FLAGS.gateway.join(' ')}';; esac; ` +
        'exec node --enable-source-maps $FLAGS dist/apps/${APP}/src/main.js',
    );
  });
});
