/**
 * A store's opening hours (issue 22; docs/design.md section 7): per weekday when it
 * opens and closes, in local time of the store's `timezone`, plus dates that differ.
 *
 *   { "mon": ["08:00", "20:00"], "sat": ["09:00", "13:00"],
 *     "exceptions": { "2026-12-24": ["08:00", "16:00"], "2026-12-25": null } }
 *
 * A weekday left out is closed; an exception of `null` is a closed date. Times are
 * "HH:MM" (24 h); a span closes after it opens, on the same day ("24:00" is midnight).
 */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** `[opens, closes]`, "HH:MM" local times. */
export type OpeningSpan = [string, string];

export interface OpeningHours {
  mon?: OpeningSpan;
  tue?: OpeningSpan;
  wed?: OpeningSpan;
  thu?: OpeningSpan;
  fri?: OpeningSpan;
  sat?: OpeningSpan;
  sun?: OpeningSpan;
  /** Dates (YYYY-MM-DD) whose hours differ from their weekday's; `null` = closed. */
  exceptions?: Record<string, OpeningSpan | null>;
}

/** Most exception dates one store keeps. */
export const MAX_OPENING_EXCEPTIONS = 366;

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function minutes(time: string): number {
  const [h, m] = time.split(':').map(Number);
  return h! * 60 + m!;
}

function isDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

function spanProblem(span: unknown): string | undefined {
  if (!Array.isArray(span) || span.length !== 2 || !span.every((t) => typeof t === 'string')) {
    return 'must be ["HH:MM", "HH:MM"]: when it opens and when it closes';
  }
  const [opens, closes] = span as [string, string];
  if (!TIME.test(opens) || opens === '24:00')
    return `${JSON.stringify(opens)} is not a time of day (HH:MM, 00:00-23:59)`;
  if (!TIME.test(closes)) return `${JSON.stringify(closes)} is not a time of day (HH:MM, 00:00-24:00)`;
  if (minutes(closes) <= minutes(opens)) return `closes at ${closes}, not after it opens at ${opens}`;
  return undefined;
}

/**
 * What is wrong with a value given as opening hours, one message per problem, each
 * naming where (`mon: …`, `exceptions.2026-12-25: …`); empty when it is valid.
 */
export function openingHoursProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return ['must be an object of weekdays (mon … sun) and exceptions'];
  }
  const problems: string[] = [];
  for (const [key, span] of Object.entries(value)) {
    if (key === 'exceptions') continue;
    if (!(WEEKDAYS as readonly string[]).includes(key)) {
      problems.push(`${key}: not a weekday (${WEEKDAYS.join(', ')}) or "exceptions"`);
      continue;
    }
    const problem = spanProblem(span);
    if (problem) problems.push(`${key}: ${problem}`);
  }
  const exceptions = (value as { exceptions?: unknown }).exceptions;
  if (exceptions !== undefined) {
    if (typeof exceptions !== 'object' || exceptions === null || Array.isArray(exceptions)) {
      problems.push('exceptions: must be an object of dates (YYYY-MM-DD) to ["HH:MM", "HH:MM"] or null (closed)');
    } else {
      const dates = Object.entries(exceptions);
      if (dates.length > MAX_OPENING_EXCEPTIONS) {
        problems.push(`exceptions: at most ${MAX_OPENING_EXCEPTIONS} dates`);
      }
      for (const [date, span] of dates) {
        if (!isDate(date)) problems.push(`exceptions.${date}: not a date (YYYY-MM-DD)`);
        else if (span !== null) {
          const problem = spanProblem(span);
          if (problem) problems.push(`exceptions.${date}: ${problem}`);
        }
      }
    }
  }
  return problems;
}

/**
 * The compact text form of a CSV cell: entries separated by `;`, each days then hours:
 * `mon-fri 08:00-20:00; sat 09:00-13:00; 2026-12-24 08:00-16:00; 2026-12-25 closed`.
 * Days are a weekday, a range of weekdays or a date. Throws with what is wrong.
 */
export function parseOpeningHoursText(text: string): OpeningHours {
  const hours: OpeningHours = {};
  for (const entry of text
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^(\S+)\s+(closed|\S+-\S+)$/i.exec(entry);
    if (!match) throw new Error(`"${entry}": expected "<days> <HH:MM>-<HH:MM>" or "<days> closed"`);
    const [, days, when] = match as unknown as [string, string, string];
    const closed = when.toLowerCase() === 'closed';
    const span = closed ? null : (when.split('-') as OpeningSpan);
    if (isDate(days)) {
      hours.exceptions = { ...hours.exceptions, [days]: span };
      continue;
    }
    const [from, to = from] = days.toLowerCase().split('-') as [string, string?];
    const first = WEEKDAYS.indexOf(from as Weekday);
    const last = WEEKDAYS.indexOf(to as Weekday);
    if (first < 0 || last < 0 || last < first) {
      throw new Error(`"${days}": expected a weekday (mon … sun), a range such as mon-fri, or a date (YYYY-MM-DD)`);
    }
    for (const day of WEEKDAYS.slice(first, last + 1)) {
      if (span) hours[day] = span;
      else delete hours[day];
    }
  }
  return hours;
}

/** The date (YYYY-MM-DD), weekday and "HH:MM" of an instant in a time zone. */
export function localTime(at: Date, timezone: string): { date: string; weekday: Weekday; time: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(at)
      .map((part) => [part.type, part.value]),
  );
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday: parts.weekday!.toLowerCase().slice(0, 3) as Weekday,
    time: `${parts.hour}:${parts.minute}`,
  };
}

/**
 * Whether a store with these hours is open at an instant, in its time zone: the date's
 * exception if it has one, else its weekday's span. Undefined hours: always open (a
 * store that did not say is never quiet).
 */
export function isOpenAt(hours: OpeningHours | undefined, timezone: string, at: Date): boolean {
  if (!hours) return true;
  const { date, weekday, time } = localTime(at, timezone);
  const span = hours.exceptions && date in hours.exceptions ? hours.exceptions[date] : hours[weekday];
  if (!span) return false;
  const now = minutes(time);
  return now >= minutes(span[0]) && now < minutes(span[1]);
}

/** How far `nextOpening` and `lastOpening` look: a year of exceptions, and a week beyond. */
const LOOKAHEAD_DAYS = MAX_OPENING_EXCEPTIONS + 8;
const DAY_MS = 86_400_000;

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** The time zone's offset from UTC at an instant (ms; Paris in winter: +3,600,000). */
function zoneOffset(at: number, timezone: string): number {
  let format = offsetFormats.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    offsetFormats.set(timezone, format);
  }
  const part = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, Number(p.value)]));
  const local = Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!, part.second!);
  return local - Math.floor(at / 1000) * 1000;
}

/**
 * The instant of a local date and time in a time zone. In a DST gap (02:30 that never
 * happens) it is the same wall time in the offset before the change, an hour later.
 */
export function zonedInstant(date: string, time: string, timezone: string): number {
  const [y, mo, d] = date.split('-').map(Number);
  const [h, mi] = time.split(':').map(Number);
  const wall = Date.UTC(y!, mo! - 1, d!, h!, mi!);
  const first = wall - zoneOffset(wall, timezone);
  const second = wall - zoneOffset(first, timezone);
  return second;
}

function dateOf(ms: number): { date: string; weekday: Weekday } {
  const iso = new Date(ms).toISOString().slice(0, 10);
  // 1970-01-01 was a Thursday (WEEKDAYS index 3).
  const weekday = WEEKDAYS[(Math.floor(ms / DAY_MS) + 3) % 7]!;
  return { date: iso, weekday };
}

/** The span a store keeps on a local date: its exception if it has one, else its weekday's. */
function spanOn(hours: OpeningHours, date: string, weekday: Weekday): OpeningSpan | null | undefined {
  return hours.exceptions && date in hours.exceptions ? hours.exceptions[date] : hours[weekday];
}

/** A store's opening: the instant it opens (ms) and its local date. */
export interface Opening {
  at: number;
  date: string;
}

/** Openings of local dates from `start` (the UTC midnight of a local date), `step` days at a time. */
function* openings(hours: OpeningHours, timezone: string, start: number, step: 1 | -1): Generator<Opening> {
  for (let i = 0; i < LOOKAHEAD_DAYS; i++) {
    const { date, weekday } = dateOf(start + step * i * DAY_MS);
    const span = spanOn(hours, date, weekday);
    if (span) yield { at: zonedInstant(date, span[0], timezone), date };
  }
}

function localMidnight(at: Date, timezone: string): number {
  return Date.parse(`${localTime(at, timezone).date}T00:00:00Z`);
}

/**
 * The store's first opening at or after an instant, in its time zone (daily brief,
 * issue 22); undefined when it does not open within the next year.
 */
export function nextOpening(hours: OpeningHours, timezone: string, from: Date): Opening | undefined {
  for (const opening of openings(hours, timezone, localMidnight(from, timezone) - DAY_MS, 1)) {
    if (opening.at >= from.getTime()) return opening;
  }
  return undefined;
}

/** The store's latest opening at or before an instant; undefined when it has not opened within the last year. */
export function lastOpening(hours: OpeningHours, timezone: string, at: Date): Opening | undefined {
  for (const opening of openings(hours, timezone, localMidnight(at, timezone) + DAY_MS, -1)) {
    if (opening.at <= at.getTime()) return opening;
  }
  return undefined;
}
