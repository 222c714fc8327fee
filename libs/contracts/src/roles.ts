/** Roles of people and devices (docs/design.md section 8). */
export const USER_ROLES = ['hq-admin', 'hq-editor', 'agency', 'store-manager', 'analyst'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const ACTOR_ROLES = [
  'hq-admin',
  'hq-editor',
  'agency',
  'store-manager',
  'analyst',
  'terminal',
  'screen',
  'system',
] as const;
export type ActorRole = (typeof ACTOR_ROLES)[number];

/**
 * Roles of device tokens, bound to one store: a `terminal` (a store tablet) and a
 * `screen` (a break-room TV that only reads, issue 22).
 */
export const DEVICE_ROLES = ['terminal', 'screen'] as const;
export type DeviceRole = (typeof DEVICE_ROLES)[number];

export function isDeviceRole(role: string | undefined): role is DeviceRole {
  return (DEVICE_ROLES as readonly (string | undefined)[]).includes(role);
}

/** Roles of people in a store, used to target communications and to enroll terminals. */
export const STORE_ROLES = ['cashier', 'sales', 'store-manager', 'stock', 'phone'] as const;
export type StoreRole = (typeof STORE_ROLES)[number];

/**
 * Whether someone serving `roles` is in an audience restricted to `restricted` store roles
 * (none: everyone): the one rule behind feeds, a person's items, reach and the tablet.
 */
export function servesAny(roles: readonly string[], restricted: readonly string[] | undefined): boolean {
  return !restricted?.length || restricted.some((role) => roles.includes(role));
}

export interface Actor {
  id: string;
  role: ActorRole;
  /** Set for store-scoped actors (store-manager, terminal). */
  storeId?: string;
}

export const SYSTEM_ACTOR: Actor = { id: 'lastmeter-scheduler', role: 'system' };
