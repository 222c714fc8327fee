/**
 * Bulk directory import (`POST /v1/imports`, `lastmeter import`): the file format, the
 * limits and the answer (docs/operations.md "Importing the directory", docs/design.md
 * section 7).
 */

export const IMPORT_KINDS = ['region', 'store', 'terminal', 'staff'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/**
 * The columns of an import CSV (its header names them, in any order) and the fields of
 * an NDJSON line. `kind` says what a row is; each kind fills only its own fields.
 */
export const IMPORT_COLUMNS = [
  'kind',
  'code',
  'name',
  'region',
  'tags',
  'locale',
  'timezone',
  'hours',
  'store',
  'roles',
  'employee',
  'pin',
] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];

/** The fields each kind may fill (besides `kind`). */
export const IMPORT_FIELDS: Record<ImportKind, readonly ImportColumn[]> = {
  region: ['code', 'name'],
  store: ['code', 'name', 'region', 'tags', 'locale', 'timezone', 'hours'],
  terminal: ['store', 'name', 'roles'],
  /**
   * A person of a store's staff (issue 21): `employee` is their reference in the HR
   * system, unique in the store (the natural key: names are personal data, sealed, and
   * never a key); `pin` is optional on a re-import (absent: the PIN stays).
   */
  staff: ['store', 'employee', 'name', 'roles', 'pin'],
};

/** CSV cells holding a list (tags, roles) separate its items with this. */
export const IMPORT_LIST_SEPARATOR = ';';

/** Media types of the request body. */
export const IMPORT_MEDIA_TYPES = { csv: 'text/csv', ndjson: 'application/x-ndjson' } as const;
export type ImportFormat = keyof typeof IMPORT_MEDIA_TYPES;

/** Largest import body (a CSV of 50,000 stores with a terminal each is about 5 MiB). */
export const IMPORT_MAX_BYTES = 16 * 1024 * 1024;
/** Most data rows in one import. */
export const IMPORT_MAX_ROWS = 100_000;

/** Rows per kind. */
export interface ImportCounts {
  regions: number;
  stores: number;
  terminals: number;
  staff: number;
}

/** A row that wrote nothing, and why: `fields` names each field at fault. */
export interface ImportRefusal {
  /** Line of the file where the row starts (the CSV header is line 1). */
  line: number;
  kind?: string;
  /** Its natural key as the file gives it: a region or store code, `<store code>/<terminal name>`, `<store code>/<employee>`. */
  key?: string;
  message: string;
  fields?: Record<string, string[]>;
}

/**
 * A row sent to the log whose decision did not come back (no decision in time, or the log
 * became unreachable while it was sent): it may or may not be written. Running the same
 * file again settles it.
 */
export interface ImportPending {
  line: number;
  kind: ImportKind;
  key: string;
  message: string;
}

/** The enrollment code of a terminal the import registered (a secret: shown once, never logged). */
export interface ImportedCode {
  line: number;
  storeCode: string;
  terminalName: string;
  terminalId: string;
  enrollmentCode: string;
  expiresAt: string;
  /** `pending`: the registration was sent but not confirmed; the code works if it was written. */
  status: 'created' | 'pending';
}

/** The answer of an import. */
export interface ImportSummary {
  /** Data rows in the file. */
  rows: number;
  created: ImportCounts;
  updated: ImportCounts;
  unchanged: ImportCounts;
  /** Refused rows, by line: nothing was written for them. */
  refused: ImportRefusal[];
  pending: ImportPending[];
  /** Enrollment codes of the terminals this import registered. */
  codes: ImportedCode[];
}

/** Lines of the `Accept: application/x-ndjson` answer: progress, then one summary or one error. */
export type ImportStreamLine =
  | { type: 'progress'; done: number; total: number }
  | { type: 'summary'; summary: ImportSummary }
  | { type: 'error'; statusCode: number; error: string; message: string };

/** Columns of the enrollment-codes CSV (`Accept: text/csv`, `lastmeter import --codes`). */
export const ENROLLMENT_CODE_COLUMNS = [
  'store_code',
  'terminal_name',
  'enrollment_code',
  'expires_at',
  'terminal_id',
  'status',
  'line',
] as const;

export function enrollmentCodeRow(code: ImportedCode): string[] {
  return [
    code.storeCode,
    code.terminalName,
    code.enrollmentCode,
    code.expiresAt,
    code.terminalId,
    code.status,
    String(code.line),
  ];
}
