import { join } from 'node:path';
import { defineConfig } from 'tsup';

/**
 * @lastmeter/terminal-client as an npm package: ESM (dist/index.mjs) and CJS
 * (dist/index.js), with types for both (index.d.mts, index.d.ts). What it uses from
 * @lastmeter/contracts (a path alias inside this repository, not a package) is bundled,
 * code and types; socket.io-client stays a dependency.
 *
 * Run from anywhere: `tsup --config libs/terminal-client/tsup.config.ts` (paths are
 * taken from this file's directory).
 */
const here = (path: string) => join(__dirname, path);

export default defineConfig({
  entry: { index: here('src/index.ts') },
  outDir: here('dist'),
  tsconfig: here('tsconfig.build.json'),
  format: ['esm', 'cjs'],
  platform: 'neutral',
  target: ['node20', 'es2022'],
  dts: true,
  clean: true,
  sourcemap: false,
  splitting: false,
  treeshake: true,
  noExternal: [/^@lastmeter\//],
  external: ['socket.io-client'],
});
