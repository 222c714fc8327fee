/** What the scheduler reads of a communication's state: its times. */
export interface Schedulable {
  status: string;
  revision: number;
  publishAt?: string;
  expiresAt?: string;
  content?: { dueAt?: string };
  dueReachedAt?: string;
}

export type DueCommand = 'communication.publish-due' | 'communication.expire' | 'communication.remind-due';

/**
 * Whether a communication waits for a time of its own: a scheduled one for its publishAt,
 * a published one for its expiresAt, or for a due time the stores were not reminded of.
 * Only those are indexed for the scheduler (AggregateStore.timedInPartition).
 */
export function waitsForTime(state: Schedulable): boolean {
  if (state.status === 'scheduled') return state.publishAt !== undefined;
  if (state.status !== 'published') return false;
  return (
    state.expiresAt !== undefined || (state.content?.dueAt !== undefined && state.dueReachedAt !== state.content.dueAt)
  );
}

/** The command a communication is due for at `now`, if any. */
export function dueCommand(state: Schedulable, now: number): DueCommand | undefined {
  if (state.status === 'scheduled' && state.publishAt && Date.parse(state.publishAt) <= now)
    return 'communication.publish-due';
  if (state.status !== 'published') return undefined;
  if (state.expiresAt && Date.parse(state.expiresAt) <= now) return 'communication.expire';
  const dueAt = state.content?.dueAt;
  if (dueAt && state.dueReachedAt !== dueAt && Date.parse(dueAt) <= now) return 'communication.remind-due';
  return undefined;
}
