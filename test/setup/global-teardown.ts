import { rmSync } from 'node:fs';

/** Stops only what global-setup started, and removes its data unless asked to keep it. */
export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__LASTMETER_TEST_INFRA__;
  if (!state) return;
  await state.kafka?.stop();
  await state.redis?.stop();
  if (process.env.LASTMETER_KEEP_TEST_DATA) {
    process.stderr.write(`[test infra] data and logs kept in ${state.root}\n`);
  } else {
    rmSync(state.root, { recursive: true, force: true });
  }
}
