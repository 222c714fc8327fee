/**
 * Preloaded (`--require`) into an app by the memory benchmark, with `--expose-gc`:
 * SIGWINCH runs a full collection, so that the heap read next (the app's /metrics) is
 * what is live, not whatever garbage the old generation has not collected yet. Not
 * SIGUSR2: Nest's enableShutdownHooks stops the app on it. Not used in production;
 * without `--expose-gc` it does nothing.
 */
const collect = (globalThis as { gc?: () => void }).gc;
if (collect) process.on('SIGWINCH', () => collect());
