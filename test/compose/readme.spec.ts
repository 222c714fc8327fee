import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_ENV_SPECS } from '@lastmeter/config';

/** The README's configuration table documents every variable the apps read. */
it('README lists every environment variable of every app', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const variables = new Set(Object.values(APP_ENV_SPECS).flatMap((spec) => Object.keys(spec)));
  const missing = [...variables].filter((variable) => !new RegExp(`^\\| \`${variable}\`\\s+\\|`, 'm').test(readme));
  expect(missing).toEqual([]);
});

it('README opens with the two commands', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  expect(firstBlock).toMatch(/^npm ci && npm start/m);
  expect(firstBlock).toMatch(/^npm test/m);
});
