import type { Actor, AggregateType, DomainEvent, EventDraft } from '@lastmeter/contracts';

/** What a decision may know besides the aggregate's own state. Read-only, no I/O. */
export interface DirectoryView {
  regionExists(regionId: string): boolean;
  storeExists(storeId: string): boolean;
}

/**
 * The secrets a decision may compare against (lastmeter.credentials.v1, never the event
 * log). Read-only, no I/O.
 */
export interface CredentialView {
  /** The hash of a terminal's unredeemed enrollment code, if one is outstanding. */
  enrollmentCodeHash(terminalId: string): string | undefined;
}

export interface DecideContext {
  actor: Actor;
  now: Date;
  directory: DirectoryView;
  credentials?: CredentialView;
}

export interface Command<Type extends string = string, Payload = unknown> {
  type: Type;
  payload: Payload;
}

/**
 * One aggregate as two pure functions (the "decider" of EventStoreDB/Equinox samples).
 * `decide` returns the events a command causes or throws a DomainError; `evolve` folds
 * one event into the state. The runner (apps/command) owns versions and envelopes.
 */
export interface Decider<State, Cmd extends Command> {
  aggregateType: AggregateType;
  /** State of an aggregate that has no events yet (`exists: false`). */
  initialState(aggregateId: string): State;
  decide(command: Cmd, state: State, context: DecideContext): EventDraft[];
  evolve(state: State, event: DomainEvent): State;
}
