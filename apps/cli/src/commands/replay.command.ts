import { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  eventCsv,
  eventCsvRow,
  InvalidReplayFilter,
  LogReplay,
  parseReplayFilter,
  type ReplayProgress,
} from '@lastmeter/history';
import { PersonKeyMirror, RedisKeys } from '@lastmeter/read-models';
import { connectDeployment } from '../endpoints';
import { color, info, UserFacingError } from '../output';

interface ReplayOptions {
  from?: string;
  to?: string;
  type?: string;
  aggregateId?: string;
  storeId?: string;
  format: string;
  output?: string;
}

/** Writes, waiting for the destination when it is full (a pipe to `head`, a slow disk). */
async function write(out: Writable, chunk: string | Buffer): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/**
 * `lastmeter replay`: the same filters and order as GET /v1/events, read straight from
 * Kafka, as NDJSON or CSV to stdout or a file, with progress on stderr.
 */
export function replayCommand(): Command {
  return new Command('replay')
    .description('stream events from the log (same filters as GET /v1/events)')
    .option('--from <iso>', 'occurredAt >= this instant')
    .option('--to <iso>', 'occurredAt <= this instant')
    .option('--type <types>', 'event types, comma-separated')
    .option('--aggregate-id <id>', 'one aggregate')
    .option('--store-id <uuid>', 'facts about one store')
    .option('--format <format>', 'ndjson or csv', 'ndjson')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (options: ReplayOptions) => {
      if (!['ndjson', 'csv'].includes(options.format)) throw new UserFacingError('--format must be ndjson or csv');
      let filter;
      try {
        filter = parseReplayFilter(
          Object.fromEntries(
            Object.entries({
              from: options.from,
              to: options.to,
              type: options.type,
              aggregateId: options.aggregateId,
              storeId: options.storeId,
            }).filter(([, v]) => v !== undefined),
          ),
        );
      } catch (error) {
        if (error instanceof InvalidReplayFilter) throw new UserFacingError(error.message);
        throw error;
      }
      const deployment = await connectDeployment('replay');
      const out: Writable = options.output ? createWriteStream(options.output) : process.stdout;
      const csv = options.format === 'csv' ? eventCsv() : undefined;
      csv?.pipe(out);
      const started = Date.now();
      let last: ReplayProgress = { read: 0, matched: 0, fraction: 0 };
      const bar = () => {
        const seconds = (Date.now() - started) / 1_000;
        const width = 24;
        const filled = Math.round(last.fraction * width);
        const line =
          `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(last.fraction * 100).toFixed(1).padStart(5)}%  ` +
          `${last.matched} events  ${Math.round(last.read / Math.max(seconds, 0.001))} read/s`;
        if (process.stderr.isTTY) process.stderr.write(`\r${color.dim('lastmeter')} ${line}`);
        else info(line);
      };
      const ticker = setInterval(bar, process.stderr.isTTY ? 200 : 2_000);
      try {
        // Names and notes opened with the projector's mirror of the keys, as on the screens.
        const personKeys = new PersonKeyMirror(deployment.redis, new RedisKeys(deployment.keyPrefix));
        const replay = new LogReplay(deployment.kafka, deployment.topics, {
          personKeys: (ids) => personKeys.keysOf(ids),
        });
        const onProgress = (progress: ReplayProgress) => (last = progress);
        try {
          if (csv) {
            for await (const event of replay.events(filter, onProgress)) {
              if (!csv.write(eventCsvRow(event))) await once(csv, 'drain');
            }
          } else {
            for await (const chunk of replay.chunks(filter, onProgress)) await write(out, chunk);
          }
        } finally {
          await replay.close();
        }
        if (csv) {
          csv.end();
          await finished(csv);
        }
        if (options.output) {
          out.end();
          await finished(out);
        }
      } finally {
        clearInterval(ticker);
        bar();
        if (process.stderr.isTTY) process.stderr.write('\n');
        await deployment.close();
      }
      info(
        `${last.matched} events in ${((Date.now() - started) / 1_000).toFixed(1)}s${options.output ? ` → ${options.output}` : ''}`,
      );
    });
}
