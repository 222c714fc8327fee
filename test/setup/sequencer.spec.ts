import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The sequencer is the CommonJS module jest loads from jest.config.js.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ExclusiveFirst = require('./sequencer') as new () => { sort(tests: Suite[]): Suite[] };

interface Suite {
  path: string;
  context: { config: { cache: boolean }; hasteFS: { getSize(path: string): number } };
}

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sequencer-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A suite file with `docblock` at its top, which jest sizes as `size` (no timing cache: a clean checkout). */
function suite(name: string, docblock: string, size: number): Suite {
  const path = join(dir, `${name}.e2e-spec.ts`);
  writeFileSync(path, `${docblock}\nit('runs', () => undefined);\n`);
  return { path, context: { config: { cache: false }, hasteFS: { getSize: () => size } } };
}

it('runs exclusive suites first, then long ones, then the others largest first', () => {
  const tests = [
    suite('small', '', 100),
    suite('long', '/**\n * @long About three minutes.\n */', 10),
    suite('large', '/** Not marked. */', 900),
    suite('alone', '/**\n * @exclusive It kills processes.\n */', 1),
  ];
  const order = new ExclusiveFirst().sort(tests).map((test) => test.path.slice(dir.length + 1));
  expect(order).toEqual(['alone.e2e-spec.ts', 'long.e2e-spec.ts', 'large.e2e-spec.ts', 'small.e2e-spec.ts']);
});
