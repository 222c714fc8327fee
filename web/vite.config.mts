import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const gateway = process.env.LASTMETER_GATEWAY_URL ?? 'http://127.0.0.1:3000';

/**
 * Four pages, one bundle each: the head-office console at `/`, the store tablet at
 * `/store/`, its break-room screen at `/store/screen/` and the analyst at `/analyst/`, built into dist/web for the gateway to serve.
 * `npm run web:dev` serves them with live reload against a running gateway.
 */
export default defineConfig({
  root: here('.'),
  base: '/',
  plugins: [
    // The tablet is an installable PWA (issue 22): web/public/store/manifest.webmanifest
    // and a Workbox service worker (/sw.js, registered by the tablet with scope /store/)
    // that precaches its page and bundles, so a reload without network starts the app,
    // which then shows its feed and outbox from IndexedDB and reconnects by itself.
    VitePWA({
      injectRegister: false,
      manifest: false,
      filename: 'sw.js',
      workbox: {
        globPatterns: ['store/**/*.{html,webmanifest,png}', 'assets/**/*.{js,css}'],
        // The analyst's charts are not the tablet's.
        globIgnores: ['assets/analyst-*'],
        navigateFallback: '/store/index.html',
        navigateFallbackAllowlist: [/^\/store(\/|$)/],
        // API calls and the socket always go to the network: the tablet keeps its data in IndexedDB.
        runtimeCaching: [],
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
      },
    }),
  ],
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
        screen: here('store/screen/index.html'),
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
