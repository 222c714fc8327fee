// The order jest runs the suites in: its own (failed last time first, then slowest
// first), except that e2e suites marked `@exclusive` come before all the others. Run
// alone anyway, they cost the least at the start, while the other worker has nothing to
// wait for; among the shared suites later, each would stop both workers while it waits
// for the suite running beside it to end (test/setup/e2e-environment.ts).
const { readFileSync } = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;

/** Whether a suite's first docblock marks it `@exclusive` (as jest-docblock reads it). */
function exclusive(path) {
  const head = readFileSync(path, 'utf8').slice(0, 2_000);
  const docblock = /^\s*\/\*\*[\s\S]*?\*\//.exec(head);
  return docblock !== null && /^\s*\*\s*@exclusive\b/m.test(docblock[0]);
}

class ExclusiveFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    return [...sorted.filter((test) => exclusive(test.path)), ...sorted.filter((test) => !exclusive(test.path))];
  }
}

module.exports = ExclusiveFirst;
