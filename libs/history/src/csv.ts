import { stringify, type Options, type Stringifier } from 'csv-stringify';
import { stringify as stringifySync } from 'csv-stringify/sync';
import type { DomainEvent } from '@lastmeter/contracts';
import { storeOf } from './replay-filter';

/** The columns of `lastmeter replay --format csv`: the envelope flat, the data as JSON. */
export const EVENT_CSV_COLUMNS = [
  'occurredAt',
  'type',
  'schemaVersion',
  'aggregateType',
  'aggregateId',
  'aggregateVersion',
  'storeId',
  'actorId',
  'actorRole',
  'id',
  'correlationId',
  'data',
] as const;

export function eventCsvRow(event: DomainEvent): string[] {
  return [
    event.occurredAt,
    event.type,
    String(event.schemaVersion),
    event.aggregateType,
    event.aggregateId,
    String(event.aggregateVersion),
    storeOf(event) ?? '',
    event.actor.id,
    event.actor.role,
    event.id,
    event.correlationId,
    JSON.stringify(event.data),
  ];
}

/**
 * Every CSV the product emits goes through here: csv-stringify (RFC 4180) with formula
 * neutralisation on. A cell starting with `=`, `+`, `-`, `@`, tab or carriage return (and
 * their full-width forms `＝＋－＠`, which some spreadsheets normalise) gets a leading `'`,
 * so a spreadsheet shows it as text instead of evaluating it (OWASP "CSV injection").
 * csv-stringify's own `escape_formulas` does exactly that; it spares `-` only in JS
 * numbers, and our rows are all strings, so `-5` becomes `'-5` (acceptable per OWASP).
 * Quoting, escaping and line endings are otherwise csv-stringify's defaults.
 */
export function safeCsv(options: Omit<Options, 'escape_formulas'> = {}): Stringifier {
  return stringify({ ...options, escape_formulas: true });
}

/** An RFC 4180 CSV stream (csv-stringify) with a header row, formulas neutralised. */
export function eventCsv(): Stringifier {
  return safeCsv({ header: true, columns: [...EVENT_CSV_COLUMNS], quoted_match: /[",\r\n]/ });
}

/** A whole small CSV as text (header row + rows), with the same formula neutralisation as `safeCsv`. */
export function safeCsvText(columns: readonly string[], rows: readonly string[][]): string {
  return stringifySync([[...columns], ...rows], { escape_formulas: true, quoted_match: /[",\r\n]/ });
}
