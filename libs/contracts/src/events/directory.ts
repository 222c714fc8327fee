import type { StoreRole, UserRole } from '../roles';

export interface RegionDefined {
  code: string;
  name: string;
}

export interface StoreRegistered {
  code: string;
  name: string;
  regionId: string;
  tags: string[];
  locale: string;
  timezone: string;
}

/** Only the fields that changed, with their new values. */
export interface StoreUpdated {
  name?: string;
  regionId?: string;
  tags?: string[];
  locale?: string;
  timezone?: string;
}

/** An enrollment code was issued for a new terminal; only its hash is kept. */
export interface TerminalRegistered {
  storeId: string;
  name: string;
  roles: StoreRole[];
  enrollmentCodeHash: string;
  enrollmentExpiresAt: string;
}

export interface TerminalEnrolled {
  storeId: string;
}

export interface TerminalRevoked {
  storeId: string;
  reason?: string;
}

export interface UserCreated {
  username: string;
  role: UserRole;
  storeId?: string;
  /** scrypt, `scrypt$N$r$p$salt$hash` (base64url). */
  passwordHash: string;
}

export interface DirectoryEventData {
  'region.defined': RegionDefined;
  'store.registered': StoreRegistered;
  'store.updated': StoreUpdated;
  'terminal.registered': TerminalRegistered;
  'terminal.enrolled': TerminalEnrolled;
  'terminal.revoked': TerminalRevoked;
  'user.created': UserCreated;
}
