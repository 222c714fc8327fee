import { FEED_BATCH, type DomainEvent } from '@lastmeter/contracts';

/** What an analyst asks for; every part is optional and they combine with AND. */
export interface ReplayFilter {
  /** occurredAt >= from */
  from?: Date;
  /** occurredAt <= to */
  to?: Date;
  types?: string[];
  aggregateId?: string;
  /** Facts about one store: its own events, its terminals', its feed and its activity. */
  storeId?: string;
}

/** A filter as it travels to a parsing worker (structured clone keeps no Date methods). */
export interface WireFilter {
  fromMs?: number;
  toMs?: number;
  types?: string[];
  aggregateId?: string;
  storeId?: string;
}

export function toWire(filter: ReplayFilter): WireFilter {
  return {
    fromMs: filter.from?.getTime(),
    toMs: filter.to?.getTime(),
    types: filter.types?.length ? filter.types : undefined,
    aggregateId: filter.aggregateId,
    storeId: filter.storeId,
  };
}

export function matches(event: DomainEvent, filter: ReplayFilter): boolean {
  return matchesWire(event, Date.parse(event.occurredAt), toWire(filter));
}

/** `matches`, with the event's time already parsed. */
export function matchesWire(event: DomainEvent, at: number, filter: WireFilter): boolean {
  if (filter.fromMs !== undefined && at < filter.fromMs) return false;
  if (filter.toMs !== undefined && at > filter.toMs) return false;
  if (filter.types && !filter.types.includes(event.type)) return false;
  if (filter.aggregateId !== undefined && event.aggregateId !== filter.aggregateId) return false;
  if (filter.storeId !== undefined && storeOf(event) !== filter.storeId) return false;
  return true;
}

/** The store an event is about, if any. */
export function storeOf(event: DomainEvent): string | undefined {
  if (event.aggregateType === 'store') return event.aggregateId;
  const data = event.data as { storeId?: unknown };
  return typeof data.storeId === 'string' ? data.storeId : undefined;
}

/** Printable ASCII but `"` and `\`: what JSON.stringify writes as it is. */
const VERBATIM_IN_JSON = /^[ !#-[\]-~]*$/;

/**
 * Decides from a record's `type` header and raw bytes, before any parsing, that none of
 * its events can match; undefined when the filter gives no such shortcut.
 *
 * - The writers put each record's event type in its `type` header (`feed.batch` for a
 *   record of `feed.appended` entries), and upcasting never changes a type.
 * - An event matches an aggregateId or storeId only if its JSON holds that string, and
 *   JSON.stringify writes a string verbatim unless it holds a character JSON escapes.
 *   (No upcaster adds an aggregateId or a storeId.)
 */
export function recordSkipper(filter: WireFilter): ((type: string | undefined, value: Buffer) => boolean) | undefined {
  const types = filter.types ? new Set(filter.types) : undefined;
  const needles = [filter.aggregateId, filter.storeId]
    .filter((id): id is string => id !== undefined && VERBATIM_IN_JSON.test(id))
    .map((id) => Buffer.from(id));
  if (!types && needles.length === 0) return undefined;
  return (type, value) => {
    if (types && type !== undefined && !types.has(type === FEED_BATCH ? 'feed.appended' : type)) return true;
    return needles.some((needle) => value.indexOf(needle) === -1);
  };
}
