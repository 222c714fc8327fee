// npm run bench: every benchmark in bench/, one after the other (they would compete for
// the same cores), results in bench/results/*.json and *.md.
const { spawnSync } = require('node:child_process');
const { readdirSync } = require('node:fs');
const { join } = require('node:path');

const dir = join(__dirname, '..', 'dist', 'bench');
const only = process.argv[2];
let failed = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.bench.js') && (!only || f.includes(only)))) {
  console.error(`\n=== ${file}`);
  const result = spawnSync(process.execPath, ['--enable-source-maps', join(dir, file)], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
