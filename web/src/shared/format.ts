/**
 * The format of `when`, made once: `toLocaleString` with options builds a formatter on
 * every call, which showed in the tablet's profile with a card per live item.
 */
let whenFormat: Intl.DateTimeFormat | undefined;

/** Dates as people in a store read them: "Tue 24 Nov, 09:30". */
export function when(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  whenFormat ??= new Intl.DateTimeFormat(undefined, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  });
  return whenFormat.format(date);
}

/** "in 3 h", "2 d ago". */
export function relative(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const delta = new Date(iso).getTime() - now;
  const abs = Math.abs(delta);
  const [value, unit] =
    abs < 60_000
      ? [Math.round(abs / 1000), 's']
      : abs < 3_600_000
        ? [Math.round(abs / 60_000), 'min']
        : abs < 86_400_000
          ? [Math.round(abs / 3_600_000), 'h']
          : [Math.round(abs / 86_400_000), 'd'];
  return delta >= 0 ? `in ${value} ${unit}` : `${value} ${unit} ago`;
}

/** `<input type="datetime-local">` value ↔ ISO instant, in the browser's time zone. */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  const offset = date.getTimezoneOffset() * 60_000;
  return new Date(date.getTime() - offset).toISOString().slice(0, 16);
}

export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function percent(part: number, whole: number): string {
  return whole ? `${Math.round((100 * part) / whole)}%` : '—';
}

export const KIND_LABEL: Record<string, string> = {
  campaign: 'Campaign',
  notice: 'Notice',
  training: 'Training',
  task: 'Task',
  survey: 'Survey',
};
