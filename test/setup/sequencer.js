// The order jest runs the suites in: its own (failed last time first, then slowest
// first), except that e2e suites marked `@exclusive` come before all the others. Run
// alone anyway, they cost the least at the start, while the other worker has nothing to
// wait for; among the shared suites later, each would stop both workers while it waits
// for the suite running beside it to end (test/setup/e2e-environment.ts).
const { readFileSync } = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;
const { extract, parse } = require('jest-docblock');

/** Whether a suite's docblock marks it `@exclusive`, read as jest reads it for the environment. */
function exclusive(path) {
  return 'exclusive' in parse(extract(readFileSync(path, 'utf8')));
}

class ExclusiveFirst extends Sequencer {
  sort(tests) {
    const alone = [];
    const shared = [];
    for (const test of super.sort(tests)) (exclusive(test.path) ? alone : shared).push(test);
    return [...alone, ...shared];
  }
}

module.exports = ExclusiveFirst;
