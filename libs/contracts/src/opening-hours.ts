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
