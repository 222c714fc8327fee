// The order jest runs the suites in: its own (failed last time first, then slowest
// first), except that e2e suites marked `@exclusive` come before all the others. Run
// alone anyway, they cost the least at the start, while the other worker has nothing to
// wait for; among the shared suites later, each would stop both workers while it waits
// for the suite running beside it to end (test/setup/e2e-environment.ts).
//
// Then the shared suites marked `@long`, then the rest. Jest knows the slowest suites
// only from its cache of an earlier run; a clean checkout (CI) has none, so jest sorts by
// file size, and a long suite that came late ran on alone at the end while the other
// worker had nothing left to do (the benchmark harness: 90 s of the 910 s run).
const { readFileSync } = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;
const { extract, parse } = require('jest-docblock');

/** A suite's docblock pragmas (`@exclusive`, `@long`), read as jest reads them for the environment. */
function pragmas(path) {
  return parse(extract(readFileSync(path, 'utf8')));
}

class ExclusiveFirst extends Sequencer {
  sort(tests) {
    const alone = [];
    const long = [];
    const shared = [];
    for (const test of super.sort(tests)) {
      const marked = pragmas(test.path);
      ('exclusive' in marked ? alone : 'long' in marked ? long : shared).push(test);
    }
    return [...alone, ...long, ...shared];
  }
}

module.exports = ExclusiveFirst;
