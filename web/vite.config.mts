import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const gateway = process.env.LASTMETER_GATEWAY_URL ?? 'http://127.0.0.1:3000';

/**
 * Three pages, one bundle each: the head-office console at `/`, the store tablet at
 * `/store/` and the analyst at `/analyst/`, built into dist/web for the gateway to serve.
 * `npm run web:dev` serves them with live reload against a running gateway.
 */
export default defineConfig({
  root: here('.'),
  base: '/',
  resolve: {
    alias: {
      '@lastmeter/contracts': here('../libs/contracts/src/index.ts'),
      '@lastmeter/domain': here('../libs/domain/src/index.ts'),
      '@lastmeter/terminal-client': here('../libs/terminal-client/src/index.ts'),
    },
  },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      input: {
        console: here('index.html'),
        store: here('store/index.html'),
        analyst: here('analyst/index.html'),
      },
      // React Query and Recharts mark modules "use client" (for server components); a
      // client-only bundle has nothing to preserve.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/v1': gateway,
      '/socket.io': { target: gateway, ws: true },
    },
  },
});
