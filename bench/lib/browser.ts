import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (or LASTMETER_CHROMIUM): what the browser tests and benchmarks drive. */
export const CHROMIUM = process.env.LASTMETER_CHROMIUM ?? '/usr/bin/chromium';

/** Headless Chromium with the flags of a quiet, sandbox-less run (no updates, sync or first-run UI). */
export function launchHeadless(executablePath = CHROMIUM): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
