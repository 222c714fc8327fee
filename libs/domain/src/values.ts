import { InvalidCommand } from './errors';

/**
 * Small value rules shared by the deciders. Event data crosses Kafka as JSON, so two
 * values are "the same" when their JSON is, and an undefined key must not be written.
 */

/** A copy without the keys whose value is undefined (they would vanish in JSON anyway). */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Structural equality of JSON-like values; array order matters, object key order does not. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const left = withoutUndefined(a as Record<string, unknown>);
  const right = withoutUndefined(b as Record<string, unknown>);
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((k) => sameValue(left[k], right[k]));
}

/** The keys of `next` (among `keys`) whose value differs from `current`, with their new values. */
export function changedFields<T extends object, K extends keyof T>(current: T, next: Partial<T>, keys: readonly K[]) {
  const changes: Partial<Pick<T, K>> = {};
  for (const key of keys) {
    if (next[key] !== undefined && !sameValue(current[key], next[key])) changes[key] = next[key];
  }
  return changes;
}

/** Milliseconds of an ISO timestamp, or undefined when it is not one. */
export function instant(iso: unknown): number | undefined {
  if (typeof iso !== 'string' || iso.trim() === '') return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Collects per-field messages so one refusal names every broken field at once. */
export class FieldProblems {
  private readonly fields: Record<string, string[]> = {};

  add(field: string, message: string): void {
    (this.fields[field] ??= []).push(message);
  }

  get any(): boolean {
    return Object.keys(this.fields).length > 0;
  }

  /** Throws InvalidCommand naming every collected field, if there is any. */
  throwIfAny(): void {
    if (this.any) throw new InvalidCommand({ ...this.fields });
  }
}
