import { ForbiddenException } from '@nestjs/common';
import type { JwtService } from '@nestjs/jwt';
import { STORE_ROLES, type StoreRole } from '@lastmeter/contracts';

/**
 * A staff member signed in on a shared tablet (issue 21). The command service signs it
 * after checking their PIN; the tablet sends it with each receipt, task and quiz answer,
 * which the gateway then records as that person on that terminal. It is not a bearer
 * token: another issuer than every other token's, so no route or socket takes it as one.
 */
export const STAFF_TOKEN_ISSUER = 'lastmeter-staff';
/** A shift: the tablet signs a person out after 2 minutes idle long before this. */
export const STAFF_SESSION_TTL_S = 12 * 3600;
/**
 * A fact made while signed in may reach the gateway later (a tablet offline for a
 * while sends its outbox when it is back): it is accepted this long after the token
 * expired. The token still proves the PIN was entered on this very terminal.
 */
export const STAFF_TOKEN_GRACE_S = 7 * 86_400;

export interface StaffClaims {
  /** The staff member. */
  sub: string;
  storeId: string;
  /** The terminal they signed in on. */
  tid: string;
  roles: StoreRole[];
  iat?: number;
  exp?: number;
}

export function signStaffToken(jwt: JwtService, claims: Omit<StaffClaims, 'iat' | 'exp'>): Promise<string> {
  return jwt.signAsync(claims, { issuer: STAFF_TOKEN_ISSUER, expiresIn: STAFF_SESSION_TTL_S });
}

/** Why a staff token is not taken: the tablet signs the person in again. */
export class StaffSignedOut extends Error {}

/**
 * The person a staff token names, if it was signed by us for this terminal and store and
 * did not expire more than STAFF_TOKEN_GRACE_S ago. Synchronous: it runs for every
 * receipt a signed-in person sends.
 */
export function staffOf(
  jwt: JwtService,
  token: string,
  terminal: { terminalId: string; storeId: string },
  nowS = Math.floor(Date.now() / 1000),
): StaffClaims {
  let claims: StaffClaims;
  try {
    claims = jwt.verify<StaffClaims>(token, {
      algorithms: ['HS256'],
      issuer: STAFF_TOKEN_ISSUER,
      ignoreExpiration: true,
    });
  } catch {
    throw new StaffSignedOut('not a staff session of this tablet: sign in again');
  }
  if (typeof claims.exp !== 'number' || claims.exp + STAFF_TOKEN_GRACE_S < nowS) {
    throw new StaffSignedOut('the staff session expired: sign in again');
  }
  if (
    typeof claims.sub !== 'string' ||
    claims.tid !== terminal.terminalId ||
    claims.storeId !== terminal.storeId ||
    !Array.isArray(claims.roles) ||
    !claims.roles.every((role) => (STORE_ROLES as readonly string[]).includes(role))
  ) {
    throw new StaffSignedOut('not a staff session of this tablet: sign in again');
  }
  return claims;
}

/**
 * staffOf for an HTTP route: the person a tablet's `staff` session names, undefined without
 * one, and 403 for a session that is not this tablet's (or expired past its grace).
 */
export function staffSessionOrForbidden(
  jwt: JwtService,
  token: string | undefined,
  terminal: { terminalId: string; storeId: string },
): StaffClaims | undefined {
  if (token === undefined) return undefined;
  try {
    return staffOf(jwt, token, terminal);
  } catch (error) {
    if (error instanceof StaffSignedOut) throw new ForbiddenException(error.message);
    throw error;
  }
}
