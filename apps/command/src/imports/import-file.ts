/** Reading an import file (CSV or NDJSON) into rows with their line numbers; no validation yet. */
import { CsvError, parse } from 'csv-parse/sync';
import {
  IMPORT_COLUMNS,
  IMPORT_LIST_SEPARATOR,
  IMPORT_MAX_ROWS,
  type ImportColumn,
  type ImportFormat,
} from '@lastmeter/contracts';

/** One data row as the file has it: where it starts, and its fields (absent when empty). */
export interface RawRow {
  line: number;
  values: Record<string, unknown>;
  /** The row could not be read as a row at all (not JSON, wrong cell count). */
  problem?: string;
}

/** The file as a whole cannot be imported (400): no header, unknown columns, an open quote. */
export class ImportFileError extends Error {
  constructor(readonly fields: Record<string, string[]>) {
    super(
      Object.entries(fields)
        .map(([field, messages]) => `${field}: ${messages.join(', ')}`)
        .join('; '),
    );
  }
}

/** More rows than IMPORT_MAX_ROWS (413, like a body over the byte limit). */
export class TooManyRows extends Error {
  constructor(readonly rows: number) {
    super(`the file has more than ${IMPORT_MAX_ROWS.toLocaleString('en')} rows; split it into several imports`);
  }
}

const LIST_COLUMNS = new Set<ImportColumn>(['tags', 'roles']);

export function parseImportFile(text: string, format: ImportFormat): RawRow[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return format === 'csv' ? parseCsv(body) : parseNdjson(body);
}

/** One JSON object per line; blank lines are skipped (and counted). */
function parseNdjson(text: string): RawRow[] {
  const rows: RawRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const source = lines[i]!.trim();
    if (source === '') continue;
    if (rows.length >= IMPORT_MAX_ROWS) throw new TooManyRows(rows.length + 1);
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch {
      rows.push({ line, values: {}, problem: 'not valid JSON' });
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      rows.push({ line, values: {}, problem: 'not a JSON object' });
      continue;
    }
    rows.push({ line, values: trimmed(value as Record<string, unknown>) });
  }
  return rows;
}

/** Strings and the strings of lists trimmed, as CSV cells are. */
function trimmed(values: Record<string, unknown>): Record<string, unknown> {
  const trim = (value: unknown) => (typeof value === 'string' ? value.trim() : value);
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, Array.isArray(value) ? value.map(trim) : trim(value)]),
  );
}

/**
 * RFC 4180: comma-separated, double quotes around cells holding commas, quotes or line
 * breaks, `""` for a quote; CRLF or LF. The first non-empty record is the header. Cells
 * are trimmed; an empty cell is a field left out; `tags` and `roles` are lists separated
 * by `;`.
 */
function parseCsv(text: string): RawRow[] {
  const records = csvRecords(text);
  const headerRecord = records.shift();
  if (!headerRecord) throw new ImportFileError({ header: ['the file is empty: the first line names the columns'] });
  const header = headerRecord.cells.map((cell) => cell.trim().toLowerCase());
  const unknown = header.filter((name) => !(IMPORT_COLUMNS as readonly string[]).includes(name));
  const problems: string[] = [];
  if (unknown.length > 0) {
    problems.push(`unknown column(s) ${unknown.map((c) => JSON.stringify(c)).join(', ')}`);
  }
  const repeated = header.filter((name, i) => header.indexOf(name) !== i);
  if (repeated.length > 0) problems.push(`column(s) named twice: ${[...new Set(repeated)].join(', ')}`);
  if (!header.includes('kind')) problems.push('no "kind" column');
  if (problems.length > 0) {
    throw new ImportFileError({ header: [...problems, `the columns are ${IMPORT_COLUMNS.join(', ')}`] });
  }
  if (records.length > IMPORT_MAX_ROWS) throw new TooManyRows(records.length);
  return records.map(({ line, cells }) => {
    if (cells.length !== header.length) {
      return { line, values: {}, problem: `${cells.length} cell(s) where the header has ${header.length}` };
    }
    const values: Record<string, unknown> = {};
    header.forEach((column, i) => {
      const cell = cells[i]!.trim();
      if (cell === '') return;
      values[column] = LIST_COLUMNS.has(column as ImportColumn)
        ? cell
            .split(IMPORT_LIST_SEPARATOR)
            .map((item) => item.trim())
            .filter(Boolean)
        : cell;
    });
    return { line, values };
  });
}

/**
 * The records of a CSV (csv-parse) with the line each starts on; empty lines are skipped.
 * csv-parse reports the line a record ends on, so a record's first line is that minus
 * the line breaks inside its quoted cells.
 */
function csvRecords(text: string): Array<{ line: number; cells: string[] }> {
  let parsed: Array<{ record: string[]; info: { lines: number } }>;
  try {
    parsed = parse(text, {
      info: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      trim: true,
      // With `info`, each record comes with its position (the types miss this overload).
    }) as unknown as typeof parsed;
  } catch (error) {
    if (error instanceof CsvError && error.code === 'CSV_QUOTE_NOT_CLOSED') {
      const opened = /at line (\d+)/.exec(error.message)?.[1];
      throw new ImportFileError({ file: [`the quoted cell opened on line ${opened ?? '?'} is never closed`] });
    }
    if (error instanceof CsvError) throw new ImportFileError({ file: [error.message] });
    throw error;
  }
  return parsed.map(({ record, info }) => ({
    line: info.lines - record.reduce((breaks, cell) => breaks + (cell.match(/\n/g)?.length ?? 0), 0),
    cells: record,
  }));
}
