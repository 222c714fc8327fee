/**
 * What a `/terminal` handshake's `auth` says besides the token (docs/design.md section 6,
 * docs/terminal-protocol.md): the cursor, the epoch, whether the live set comes in
 * chunks and whether feed items may come several to a message. Native apps send `auth` through their platform's Socket.IO client, and
 * socket.io-client-java (Android) can only send strings there, so each value is taken as
 * JSON sends it or as its string.
 */
import type { TerminalAuth } from '@lastmeter/contracts';

/** The decimal string of a non-negative integer, as `String(n)` writes it. */
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * The cursor of `auth.cursor`: a non-negative safe integer, or its decimal string ("12";
 * no sign, no leading zero, no space, no exponent, no fraction). Absent (or null): 0.
 * Anything else: undefined, refused as `bad-cursor`.
 */
export function parseCursor(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? Math.abs(value) : undefined;
  if (typeof value !== 'string' || !DECIMAL.test(value)) return undefined;
  const cursor = Number(value);
  return Number.isSafeInteger(cursor) ? cursor : undefined;
}

/** `auth.snapshotChunks` and `auth.feedBatches`: `true` or `"true"` asks; anything else does not. */
export function parseFlag(value: unknown): boolean {
  return value === true || value === 'true';
}

/** The handshake options of an accepted `auth`. */
export interface HandshakeOptions {
  cursor: number;
  epoch?: string;
  snapshotChunks: boolean;
  feedBatches: boolean;
}

/** Why `auth` was refused (reason `bad-cursor`), in words for the `connect_error` message. */
export interface HandshakeRefusal {
  refused: string;
}

/**
 * Reads `auth` (its token is checked elsewhere): the options, or why it is refused. The
 * epoch is a string, as `hello` sent it, or absent.
 */
export function readHandshake(auth: Partial<Record<keyof TerminalAuth, unknown>>): HandshakeOptions | HandshakeRefusal {
  const cursor = parseCursor(auth.cursor);
  if (cursor === undefined) {
    return {
      refused: 'cursor must be a non-negative integer or its decimal string, e.g. 12 or "12" (the last feedSeq held)',
    };
  }
  if (auth.epoch !== undefined && typeof auth.epoch !== 'string') {
    return { refused: 'epoch must be the string sent in hello' };
  }
  return {
    cursor,
    ...(auth.epoch !== undefined ? { epoch: auth.epoch } : {}),
    snapshotChunks: parseFlag(auth.snapshotChunks),
    feedBatches: parseFlag(auth.feedBatches),
  };
}
