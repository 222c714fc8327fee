import type { JwtService } from '@nestjs/jwt';
import { ACTOR_ROLES, type ActorRole, type StoreRole } from '@lastmeter/contracts';

/** Claims of every Last Meter token (HS256, LASTMETER_JWT_SECRET, issuer `lastmeter`). */
export interface TokenClaims {
  /** User id or terminal id. */
  sub: string;
  role: ActorRole;
  /** Store-scoped tokens (store-manager, terminal). */
  storeId?: string;
  /** Terminal tokens: the store roles the device serves (empty = shared tablet). */
  roles?: StoreRole[];
  username?: string;
  /**
   * User tokens: the user's session version when the token was issued. A password
   * change, a role change or disabling the user bumps it, and older tokens are refused.
   */
  sv?: number;
  /** Standard JWT times (seconds), set by the signer. */
  iat?: number;
  exp?: number;
}

export const TOKEN_ISSUER = 'lastmeter';
export const USER_TOKEN_TTL = '12h';

export class TokenRefused extends Error {
  constructor(
    readonly reason: 'token-invalid' | 'token-expired',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The one way a token is checked, for HTTP and sockets alike: HS256 only (no `none`, no
 * RS/HS confusion), our issuer, not expired, and claims of the right shape.
 */
export async function verifyToken(jwt: JwtService, token: string): Promise<TokenClaims> {
  let claims: TokenClaims;
  try {
    claims = await jwt.verifyAsync<TokenClaims>(token, { algorithms: ['HS256'], issuer: TOKEN_ISSUER });
  } catch (error) {
    if ((error as Error).name === 'TokenExpiredError') throw new TokenRefused('token-expired', 'token expired');
    throw new TokenRefused('token-invalid', 'invalid token');
  }
  if (
    typeof claims.sub !== 'string' ||
    claims.sub === '' ||
    !(ACTOR_ROLES as readonly string[]).includes(claims.role)
  ) {
    throw new TokenRefused('token-invalid', 'invalid token');
  }
  return claims;
}

/** What a session check needs to know of a user (from the log, never a secret). */
export interface SessionState {
  disabled: boolean;
  sessionVersion: number;
}

/**
 * Why a user token that verified is no longer good, or undefined. Tokens of users the
 * log does not know (the configured admin) have no session state to compare with.
 */
export function sessionRefusal(claims: TokenClaims, user: SessionState | undefined): string | undefined {
  if (!user) return undefined;
  if (user.disabled) return 'user disabled';
  if ((claims.sv ?? 0) < user.sessionVersion) return 'session ended (password, role or account changed); log in again';
  return undefined;
}

/**
 * Per app: whether a verified token still stands (user disabled or session ended,
 * terminal revoked). Provided under SESSION_CHECK; the guard and the socket gateways ask it.
 */
export interface SessionCheck {
  /** The refusal message, or undefined when the token stands. */
  refusal(claims: TokenClaims): Promise<string | undefined>;
}

export const SESSION_CHECK = Symbol('SESSION_CHECK');
