import { Command } from 'commander';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import {
  ENROLLMENT_CODE_COLUMNS,
  enrollmentCodeRow,
  IMPORT_MAX_BYTES,
  IMPORT_MEDIA_TYPES,
  type ImportCounts,
  type ImportFormat,
  type ImportStreamLine,
  type ImportSummary,
} from '@lastmeter/contracts';
import { safeCsvText } from '@lastmeter/history';
import { adminToken, call, commandUrl } from '../admin-api';
import { color, info, UserFacingError } from '../output';

interface ImportOptions {
  url?: string;
  format?: string;
  codes?: string;
  report?: string;
}

/** Refused and pending rows printed on stderr; --report has them all. */
const SHOWN = 20;

const FORMATS_BY_EXTENSION: Record<string, ImportFormat> = { '.csv': 'csv', '.ndjson': 'ndjson', '.jsonl': 'ndjson' };

/**
 * `lastmeter import <file>`: posts a directory file to POST /v1/imports on the command
 * service, shows the progress it streams back, prints the summary and writes the
 * enrollment codes of the new terminals (a secret) to --codes, or to stdout.
 */
export function importCommand(): Command {
  return new Command('import')
    .description('import regions, stores and terminals from a CSV or NDJSON file (POST /v1/imports)')
    .argument('<file>', 'the directory file (.csv, .ndjson or .jsonl), see docs/operations.md')
    .option('--url <url>', 'the command service (default http://127.0.0.1:$COMMAND_PORT, port 3001)')
    .option('--format <format>', 'csv or ndjson (default: from the file extension)')
    .option('--codes <file>', 'write the new terminals’ enrollment codes there as CSV (mode 0600) instead of stdout')
    .option('--report <file>', 'write the whole summary (every refused row, no codes) there as JSON')
    .action(async (file: string, options: ImportOptions) => {
      const format = (options.format ?? FORMATS_BY_EXTENSION[extname(file).toLowerCase()]) as ImportFormat | undefined;
      if (format !== 'csv' && format !== 'ndjson') {
        throw new UserFacingError(`say --format csv or --format ndjson for ${file} (not .csv, .ndjson or .jsonl)`);
      }
      if (!existsSync(file)) throw new UserFacingError(`no file ${file}`);
      const size = statSync(file).size;
      if (size > IMPORT_MAX_BYTES) {
        throw new UserFacingError(
          `${file} is ${(size / 2 ** 20).toFixed(1)} MiB, over the ${IMPORT_MAX_BYTES / 2 ** 20} MiB import limit: split it ` +
            '(regions and stores first, terminals in a second file)',
        );
      }
      const url = commandUrl(options.url);
      const token = await adminToken(url);
      const summary = await post(url, token, readFileSync(file), format);
      report(summary);
      if (options.report) {
        const { codes: _secrets, ...withoutCodes } = summary;
        writeFileSync(options.report, `${JSON.stringify(withoutCodes, null, 2)}\n`);
        info(`summary → ${options.report}`);
      }
      if (summary.codes.length > 0) {
        const csv = safeCsvText(ENROLLMENT_CODE_COLUMNS, summary.codes.map(enrollmentCodeRow));
        if (options.codes) {
          writeFileSync(options.codes, csv, { mode: 0o600 });
          info(
            `${summary.codes.length} enrollment code(s) → ${options.codes} (secrets, valid until ` +
              `${summary.codes[0]!.expiresAt}: hand them to the field teams, then delete the file)`,
          );
        } else {
          process.stdout.write(csv);
        }
      }
      if (summary.refused.length > 0 || summary.pending.length > 0) process.exitCode = 2;
    });
}

/** Posts the file and follows the NDJSON answer: a progress bar on stderr, then the summary. */
async function post(url: string, token: string, body: Buffer, format: ImportFormat): Promise<ImportSummary> {
  const started = Date.now();
  const response = await call(`${url}/v1/imports`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': IMPORT_MEDIA_TYPES[format],
      accept: IMPORT_MEDIA_TYPES.ndjson,
    },
    body,
  });
  if (!response.ok) {
    const error = (await response.json().catch(() => ({}))) as {
      message?: string;
      fields?: Record<string, string[]>;
    };
    const fields = Object.entries(error.fields ?? {}).map(
      ([field, messages]) => `\n  ${field}: ${messages.join('; ')}`,
    );
    throw new UserFacingError(
      `import refused: ${response.status} ${error.message ?? response.statusText}${fields.join('')}`,
    );
  }

  let progress = { done: 0, total: 0 };
  const bar = () => {
    const fraction = progress.total > 0 ? progress.done / progress.total : 0;
    const seconds = (Date.now() - started) / 1000;
    const width = 24;
    const filled = Math.round(fraction * width);
    const line =
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1).padStart(5)}%  ` +
      `${progress.done} / ${progress.total} rows  ${Math.round(progress.done / Math.max(seconds, 0.001))} rows/s`;
    if (process.stderr.isTTY) process.stderr.write(`\r${color.dim('lastmeter')} ${line}`);
    else info(line);
  };
  const ticker = setInterval(bar, process.stderr.isTTY ? 200 : 2_000);
  let summary: ImportSummary | undefined;
  let failure: string | undefined;
  try {
    let pending = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const text = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (!text) continue;
        const line = JSON.parse(text) as ImportStreamLine;
        if (line.type === 'progress') progress = { done: line.done, total: line.total };
        else if (line.type === 'summary') summary = line.summary;
        else failure = `${line.statusCode} ${line.message}`;
      }
    }
  } finally {
    clearInterval(ticker);
    if (summary) progress = { done: summary.rows, total: summary.rows };
    if (progress.total > 0) {
      bar();
      if (process.stderr.isTTY) process.stderr.write('\n');
    }
  }
  if (failure) throw new UserFacingError(`the import stopped: ${failure}; run the same file again (it is idempotent)`);
  if (!summary)
    throw new UserFacingError('the command service ended the answer before the summary; run the same file again');
  info(`${summary.rows} rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return summary;
}

function counted(counts: ImportCounts): string {
  return `${counts.regions} region(s), ${counts.stores} store(s), ${counts.terminals} terminal(s), ${counts.staff} staff`;
}

/** The summary on stderr: counts, then the first refused and pending rows with their reasons. */
function report(summary: ImportSummary): void {
  info(`created   ${counted(summary.created)}`);
  info(`updated   ${counted(summary.updated)}`);
  info(`unchanged ${counted(summary.unchanged)}`);
  if (summary.refused.length > 0) {
    info(color.red(`refused   ${summary.refused.length} row(s), nothing written for them:`));
    for (const row of summary.refused.slice(0, SHOWN)) {
      const reasons = row.fields
        ? Object.entries(row.fields)
            .map(([field, messages]) => `${field}: ${messages.join('; ')}`)
            .join(' | ')
        : row.message;
      info(`  line ${row.line}${row.kind ? ` ${row.kind}` : ''}${row.key ? ` ${row.key}` : ''}: ${reasons}`);
    }
    if (summary.refused.length > SHOWN)
      info(`  … and ${summary.refused.length - SHOWN} more (--report <file> lists all)`);
  }
  if (summary.pending.length > 0) {
    info(color.yellow(`pending   ${summary.pending.length} row(s) sent without a decision yet (run the file again):`));
    for (const row of summary.pending.slice(0, SHOWN))
      info(`  line ${row.line} ${row.kind} ${row.key}: ${row.message}`);
    if (summary.pending.length > SHOWN)
      info(`  … and ${summary.pending.length - SHOWN} more (--report <file> lists all)`);
  }
}
