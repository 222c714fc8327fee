import type { Writable } from 'node:stream';
import type Redis from 'ioredis';

const COALESCING = Symbol('lastmeter.coalescing');

/** Bytes held back at most before they are written anyway. */
const FLUSH_BYTES = 64 * 1024;

type Stream = Writable & { [COALESCING]?: true };

/**
 * Sends the commands of one turn of the event loop to Redis in one system call.
 *
 * ioredis writes each command to its socket as it is sent, and on loopback every write
 * completes at once: one `write` system call per command. A gateway handshaking a
 * reconnect storm sends thousands of commands, and those writes were 12% of its busy
 * time; a fact batcher sends claims and confirmations in bursts (bench/PROFILE.md,
 * row 30). Here the first command of a tick goes at once; the socket is then corked
 * and uncorked once the tick's callbacks and promise continuations have run
 * (`process.nextTick`), or sooner past 64 KiB, so the rest of the tick's commands leave
 * together in one `writev`, in the order they were sent: unlike ioredis's
 * auto-pipelining, nothing is reordered. Each new connection's socket (after a
 * reconnect or a Sentinel failover) is wrapped when it connects.
 */
export function coalesceWrites(redis: Redis): void {
  redis.on('connect', () => {
    const stream = (redis as unknown as { stream?: Stream }).stream;
    if (!stream || stream[COALESCING]) return;
    stream[COALESCING] = true;
    const write = stream.write;
    /** 'idle': nothing written this tick; 'sent': one command went out at once; 'corked'. */
    let state: 'idle' | 'sent' | 'corked' = 'idle';
    const endOfTick = () => {
      if (state === 'corked') stream.uncork();
      state = 'idle';
    };
    stream.write = function (this: Stream, ...args: Parameters<Writable['write']>) {
      if (state === 'idle') {
        // The tick's first command goes at once, as before: a lone command does not wait
        // for the rest of a long tick, and Redis works on it meanwhile.
        state = 'sent';
        process.nextTick(endOfTick);
      } else if (state === 'sent') {
        state = 'corked';
        stream.cork();
      }
      const written = write.apply(this, args);
      // A large backlog goes without waiting for the end of the tick.
      if (state === 'corked' && stream.writableLength >= FLUSH_BYTES) {
        stream.uncork();
        stream.cork();
      }
      return written;
    } as Writable['write'];
  });
}
