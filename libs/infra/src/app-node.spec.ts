import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_V8_FLAGS, appNodeArgs } from './app-node';
import { repoRoot } from './paths';

describe('appNodeArgs', () => {
  it('puts source maps and the V8 flags before any extra argument', () => {
    expect(appNodeArgs(['--cpu-prof'])).toEqual(['--enable-source-maps', ...APP_V8_FLAGS, '--cpu-prof']);
  });

  it('is what the container image starts the apps with', () => {
    const dockerfile = readFileSync(join(repoRoot(), 'Dockerfile'), 'utf8');
    const cmd = dockerfile.split('\n').find((line) => line.startsWith('CMD '));
    expect(cmd).toContain(`exec node ${appNodeArgs().join(' ')} dist/apps/\${APP}/src/main.js`);
  });
});
