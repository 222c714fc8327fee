import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import type { WireFilter } from './replay-filter';
import { parseRecords } from './replay-records';
import type { ReplayTask } from './replay-worker';

/** Turns packed records into packed lines (replay-records.ts), somewhere. */
export interface RecordParser {
  parse(records: ArrayBuffer, filter: WireFilter): Promise<ArrayBuffer>;
  close(): Promise<void>;
}

/** Parses on the calling thread (REPLAY_WORKERS=0, and unit specs that run the sources). */
export class InlineParser implements RecordParser {
  async parse(records: ArrayBuffer, filter: WireFilter): Promise<ArrayBuffer> {
    return parseRecords(records, filter);
  }

  async close(): Promise<void> {}
}

/**
 * Parses in a pool of worker threads shared by every replay of the process. Threads start
 * with the first replay and stop after IDLE_TIMEOUT_MS without work. Tasks are a
 * partition's fetched batch each (at most 1 MiB), queued first in, first out.
 */
export class WorkerParser implements RecordParser {
  private static readonly IDLE_TIMEOUT_MS = 30_000;
  private static readonly NICE_INCREMENT = 10;
  private readonly pool: Piscina;

  constructor(threads: number) {
    const filename = join(__dirname, 'replay-worker.js');
    if (!existsSync(filename)) {
      throw new Error(
        `replay workers run the built code (${filename} is missing): build first, or set REPLAY_WORKERS=0`,
      );
    }
    this.pool = new Piscina({
      filename,
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: WorkerParser.IDLE_TIMEOUT_MS,
      // Below the event loop's priority (Linux, through @napi-rs/nice): a replay must not
      // delay the live fan-out of the same process.
      niceIncrement: WorkerParser.NICE_INCREMENT,
    });
  }

  parse(records: ArrayBuffer, filter: WireFilter): Promise<ArrayBuffer> {
    const task: ReplayTask = { records, filter };
    return this.pool.run(task, { transferList: [records] }) as Promise<ArrayBuffer>;
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

/** Worker threads unless `threads` is 0. */
export function recordParser(threads: number): RecordParser {
  return threads > 0 ? new WorkerParser(threads) : new InlineParser();
}
