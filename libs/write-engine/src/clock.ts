/** The write engine's clock: the system's, or (tests, demos) one that an offset file moves ahead. */
import { readFileSync } from 'node:fs';
import type { Clock } from './ports';
import { systemClock } from './ports';

/** How long an offset read from the file is used before the file is read again. */
const REREAD_MS = 100;

/**
 * A clock `offset` ms ahead of the system clock, the offset being the number in `path`
 * (a missing or empty file: 0). Tests write the file to move time forward, for scheduled
 * publishes, expiries and daily briefs, instead of sleeping until then
 * (LASTMETER_CLOCK_FILE). Moving it back is allowed but nothing undoes what already ran.
 * Write it aside and rename it over the file: a file read while it is being rewritten in
 * place can be empty, which reads as 0 (the system clock) for REREAD_MS.
 */
export function offsetFileClock(path: string): Clock {
  let offset = 0;
  let readAt = -Infinity;
  const read = () => {
    try {
      const text = readFileSync(path, 'utf8').trim();
      const value = text === '' ? 0 : Number(text);
      if (Number.isFinite(value)) offset = value;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') offset = 0;
    }
  };
  return {
    now() {
      const real = Date.now();
      if (real - readAt >= REREAD_MS) {
        readAt = real;
        read();
      }
      return new Date(real + offset);
    },
  };
}

/** The clock LASTMETER_CLOCK_FILE asks for (empty: the system clock). */
export function clockFor(file: string | undefined): Clock {
  return file ? offsetFileClock(file) : systemClock;
}
