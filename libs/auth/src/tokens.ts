import type { ActorRole, StoreRole } from '@lastmeter/contracts';

/** Claims of every Last Meter token (HS256, LASTMETER_JWT_SECRET). */
export interface TokenClaims {
  /** User id or terminal id. */
  sub: string;
  role: ActorRole;
  /** Store-scoped tokens (store-manager, terminal). */
  storeId?: string;
  /** Terminal tokens: the store roles the device serves (empty = shared tablet). */
  roles?: StoreRole[];
  username?: string;
}

export const USER_TOKEN_TTL = '12h';
/** Device tokens live long; revocation (terminal.revoked) is what ends them. */
export const DEVICE_TOKEN_TTL = '365d';
