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
 * The times a communication waits for, each with the command it is due for then, first
 * come first served on a tie: a scheduled one's publishAt; a published one's expiresAt,
 * then a due time the stores were not reminded of.
 */
function timersOf(state: Schedulable): Array<[DueCommand, string]> {
  const timers: Array<[DueCommand, string]> = [];
  if (state.status === 'scheduled' && state.publishAt) timers.push(['communication.publish-due', state.publishAt]);
  if (state.status === 'published') {
    if (state.expiresAt) timers.push(['communication.expire', state.expiresAt]);
    const dueAt = state.content?.dueAt;
    if (dueAt && state.dueReachedAt !== dueAt) timers.push(['communication.remind-due', dueAt]);
  }
  return timers;
}

/**
 * Whether a communication waits for a time of its own. Only those are indexed for the
 * scheduler (AggregateStore.timedInPartition).
 */
export function waitsForTime(state: Schedulable): boolean {
  return timersOf(state).length > 0;
}

/** The command a communication is due for at `now`, if any. */
export function dueCommand(state: Schedulable, now: number): DueCommand | undefined {
  return timersOf(state).find(([, at]) => Date.parse(at) <= now)?.[0];
}
