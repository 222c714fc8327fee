import { stringify, type Stringifier } from 'csv-stringify';
import type { DomainEvent } from '@lastmeter/contracts';
import { storeOf } from './replay';

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

/** An RFC 4180 CSV stream (csv-stringify) with a header row. */
export function eventCsv(): Stringifier {
  return stringify({ header: true, columns: [...EVENT_CSV_COLUMNS], quoted_match: /[",\r\n]/ });
}
