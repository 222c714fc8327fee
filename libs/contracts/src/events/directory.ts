import type { OpeningHours } from '../opening-hours';
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
  /** When the store opens, in its time zone (absent: not given). */
  openingHours?: OpeningHours;
}

/** Only the fields that changed, with their new values. */
export interface StoreUpdated {
  name?: string;
  regionId?: string;
  tags?: string[];
  locale?: string;
  timezone?: string;
  openingHours?: OpeningHours;
}

/**
 * An enrollment code was issued for a new terminal (v2). The code's hash is not in the
 * event: it lives in lastmeter.credentials.v1 until the code is redeemed or the terminal
 * revoked (docs/security.md). v1 events carried `enrollmentCodeHash`; the upcaster drops it.
 */
/** What a device of a store is: a tablet staff use, or a break-room screen that only reads. */
export const TERMINAL_KINDS = ['tablet', 'screen'] as const;
export type TerminalKind = (typeof TERMINAL_KINDS)[number];

export interface TerminalRegistered {
  storeId: string;
  name: string;
  roles: StoreRole[];
  enrollmentExpiresAt: string;
  /** Absent: a tablet (every terminal registered before screens existed is one). */
  kind?: TerminalKind;
}

export interface TerminalEnrolled {
  storeId: string;
}

export interface TerminalRevoked {
  storeId: string;
  reason?: string;
}

/**
 * A user account (v2). The password hash is not in the event: it lives in
 * lastmeter.credentials.v1 (docs/security.md). v1 events carried `passwordHash`; the
 * upcaster drops it, so no read path ever hands it out.
 */
export interface UserCreated {
  username: string;
  role: UserRole;
  storeId?: string;
}

/** A new password was set (the hash went to lastmeter.credentials.v1); older tokens stop working. */
export interface UserPasswordSet {
  /** `admin`: reset by an hq-admin; `self`: changed by the user with their current password. */
  by: 'admin' | 'self';
}

/** The account can no longer log in, and its tokens and sockets stop working. */
export interface UserDisabled {
  reason?: string;
}

export type UserEnabled = Record<string, never>;

/** A new role (and store, for a store-manager); tokens with the old role stop working. */
export interface UserRoleChanged {
  role: UserRole;
  storeId?: string;
}

/**
 * A personal field (a staff member's name) as the log holds it: AES-256-GCM under the
 * person's own key, which lives in lastmeter.person-keys.v1 and nowhere else. Deleting the
 * key erases the field from every copy of the log at once (docs/privacy.md).
 */
export interface SealedText {
  enc: 'A256GCM';
  /** 96-bit nonce, base64url. */
  iv: string;
  /** Ciphertext followed by the 128-bit tag, base64url. */
  data: string;
}

/**
 * A person working in a store (issue 21). The name is sealed; the PIN's hash is in
 * lastmeter.credentials.v1. Ids, store and roles are in clear: not personal on their own.
 */
export interface StaffAdded {
  storeId: string;
  name: SealedText;
  roles: StoreRole[];
}

/** Only what changed. `pinChanged`: a new PIN's hash went to the credentials topic. */
export interface StaffUpdated {
  storeId: string;
  name?: SealedText;
  roles?: StoreRole[];
  pinChanged?: true;
}

/** The person no longer works in the store: they cannot sign in, their history stays. */
export interface StaffRemoved {
  storeId: string;
  reason?: string;
}

/**
 * The person's key was deleted (`DELETE /v1/staff/:id/personal-data`): every sealed field
 * of theirs, in every event before this one, can no longer be read. Implies removal.
 */
export interface StaffErased {
  storeId: string;
}

export interface DirectoryEventData {
  'region.defined': RegionDefined;
  'store.registered': StoreRegistered;
  'store.updated': StoreUpdated;
  'terminal.registered': TerminalRegistered;
  'terminal.enrolled': TerminalEnrolled;
  'terminal.revoked': TerminalRevoked;
  'user.created': UserCreated;
  'user.password-set': UserPasswordSet;
  'user.disabled': UserDisabled;
  'user.enabled': UserEnabled;
  'user.role-changed': UserRoleChanged;
  'staff.added': StaffAdded;
  'staff.updated': StaffUpdated;
  'staff.removed': StaffRemoved;
  'staff.erased': StaffErased;
}
