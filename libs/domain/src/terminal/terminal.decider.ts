import type { DomainEvent, EventDraft, TerminalRegistered } from '@lastmeter/contracts';
import { requireRole } from '../access';
import type { TerminalCommand } from '../commands';
import type { DecideContext, Decider } from '../decider';
import { Conflict, InvalidCommand, NotFound, RuleViolation } from '../errors';
import { instant, sameValue, withoutUndefined } from '../values';
import { initialTerminalState, type TerminalState } from './terminal.state';

/** One message for every failed redemption, so a guesser cannot tell used from wrong from late. */
const BAD_CODE = 'enrollment code is invalid, used or expired';

/** Compares in time independent of where the strings differ (the hash is the device's secret). */
function sameSecret(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

function register(
  payload: Pick<
    Extract<TerminalCommand, { type: 'terminal.register' }>['payload'],
    'storeId' | 'name' | 'roles' | 'enrollmentExpiresAt' | 'kind'
  >,
  state: TerminalState,
  context: DecideContext,
): EventDraft[] {
  requireRole(context.actor, ['hq-admin'], 'register a terminal');
  if (state.exists) throw new Conflict(`terminal ${state.id} already exists`);
  if (!context.directory.storeExists(payload.storeId)) {
    throw new InvalidCommand({ storeId: [`unknown store ${payload.storeId}`] });
  }
  const data: TerminalRegistered = {
    storeId: payload.storeId,
    name: payload.name ?? 'Terminal',
    roles: payload.roles ?? [],
    enrollmentExpiresAt: payload.enrollmentExpiresAt,
    // Only a screen says so: a tablet's event is what it always was.
    ...(payload.kind === 'screen' ? { kind: 'screen' as const } : {}),
  };
  return [{ type: 'terminal.registered', data }];
}

/**
 * Import: a new terminal is registered (its enrollment code's hash goes to the credentials
 * topic, see credentialChanges); an existing one with the same roles is nothing to do and
 * keeps its code. Roles have no change event, so other roles are refused.
 */
function importTerminal(
  payload: Extract<TerminalCommand, { type: 'terminal.import' }>['payload'],
  state: TerminalState,
  context: DecideContext,
): EventDraft[] {
  if (!state.exists) return register(payload, state, context);
  requireRole(context.actor, ['hq-admin'], 'import a terminal');
  if (state.storeId !== payload.storeId) throw new Conflict(`terminal ${state.id} belongs to another store`);
  const sorted = (roles: readonly string[]) => [...new Set(roles)].sort();
  if (!sameValue(sorted(state.roles), sorted(payload.roles))) {
    throw new Conflict(
      `terminal "${state.name}" exists with roles [${state.roles.join(', ')}]; a terminal's roles cannot be changed ` +
        '(revoke it and import it under another name)',
    );
  }
  return [];
}

/** Any actor may try: holding the code is what proves the device belongs to the store. */
function enroll(enrollmentCodeHash: string, state: TerminalState, context: DecideContext): EventDraft[] {
  if (!state.exists) throw new NotFound(`terminal ${state.id} not found`);
  const expiresAt = instant(state.enrollmentExpiresAt);
  // The hash is in lastmeter.credentials.v1, not in the terminal's events.
  const stored = context.credentials?.enrollmentCodeHash(state.id);
  const redeemable =
    state.status === 'registered' &&
    stored !== undefined &&
    sameSecret(enrollmentCodeHash, stored) &&
    expiresAt !== undefined &&
    context.now.getTime() <= expiresAt;
  if (!redeemable) throw new RuleViolation(BAD_CODE);
  return [{ type: 'terminal.enrolled', data: { storeId: state.storeId } }];
}

function revoke(reason: string | undefined, state: TerminalState, context: DecideContext): EventDraft[] {
  requireRole(context.actor, ['hq-admin'], 'revoke a terminal');
  if (!state.exists) throw new NotFound(`terminal ${state.id} not found`);
  if (state.status === 'revoked') throw new RuleViolation('terminal is already revoked');
  return [{ type: 'terminal.revoked', data: withoutUndefined({ storeId: state.storeId, reason }) }];
}

export const terminalDecider: Decider<TerminalState, TerminalCommand> = {
  aggregateType: 'terminal',
  initialState: initialTerminalState,
  decide(command, state, context) {
    switch (command.type) {
      case 'terminal.register':
        return register(command.payload, state, context);
      case 'terminal.import':
        return importTerminal(command.payload, state, context);
      case 'terminal.enroll':
        return enroll(command.payload.enrollmentCodeHash, state, context);
      case 'terminal.revoke':
        return revoke(command.payload.reason, state, context);
    }
  },
  evolve(state: TerminalState, event: DomainEvent): TerminalState {
    switch (event.type) {
      case 'terminal.registered':
        return { ...state, exists: true, status: 'registered', ...event.data };
      case 'terminal.enrolled':
        return { ...state, status: 'enrolled' };
      case 'terminal.revoked':
        return { ...state, status: 'revoked' };
      default:
        return state;
    }
  },
};
