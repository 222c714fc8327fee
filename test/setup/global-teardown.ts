import { rmSync } from 'node:fs';

/** Stops only what global-setup started, and removes its data unless asked to keep it. */
export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__LASTMETER_TEST_INFRA__;
  if (!state) return;
  await state.lock?.close();
  // Both, even if one fails to stop: a leaked server outlives the run.
  const stopped = await Promise.allSettled([state.kafka?.stop(), state.redis?.stop()]);
  for (const result of stopped) {
    if (result.status === 'rejected') process.stderr.write(`[test infra] stop failed: ${String(result.reason)}\n`);
  }
  if (process.env.LASTMETER_KEEP_TEST_DATA) {
    process.stderr.write(`[test infra] data and logs kept in ${state.root}\n`);
  } else {
    rmSync(state.root, { recursive: true, force: true });
  }
}
