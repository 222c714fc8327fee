import type { Actor, ActorRole } from '@lastmeter/contracts';
import { Forbidden } from './errors';

/** Head-office people who own the content: they may approve, publish and retract. */
export const EDITOR_ROLES: readonly ActorRole[] = ['hq-editor', 'hq-admin'];

export function isEditor(role: ActorRole): boolean {
  return EDITOR_ROLES.includes(role);
}

/** Refuses the actor unless its role is one of `allowed`; `what` reads as "may not <what>". */
export function requireRole(actor: Actor, allowed: readonly ActorRole[], what: string): void {
  if (!allowed.includes(actor.role)) throw new Forbidden(`${actor.role} may not ${what}`);
}
