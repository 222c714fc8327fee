import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpeningHours } from '@lastmeter/contracts';
import { requireEnv } from './env';

/**
 * A clock file for the command service (LASTMETER_CLOCK_FILE): `set(iso)` moves its clock
 * to that instant, from where it runs on. Scheduled publishes, expiries and daily briefs
 * then happen as if that time had come, without sleeping until it does.
 */
export function movableClock(name: string): { file: string; set(iso: string): void } {
  const file = join(requireEnv('LASTMETER_TEST_ROOT'), `${name}-clock-${process.pid}`);
  return {
    file,
    // Written aside and renamed over the file: a reader never sees it empty (the system
    // clock's time, for a moment) or half-written.
    set: (iso) => {
      writeFileSync(`${file}.next`, String(Date.parse(iso) - Date.now()));
      renameSync(`${file}.next`, file);
    },
  };
}

/** The same hours every day of the week. */
export function everyDay(opens: string, closes: string): OpeningHours {
  return Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => [day, [opens, closes]]));
}
