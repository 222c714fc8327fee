import type { UserRole } from '@lastmeter/contracts';

export interface UserState {
  exists: boolean;
  id: string;
  username: string;
  /** null until created. */
  role: UserRole | null;
  /** Set for a store-manager only. */
  storeId?: string;
  /** A disabled user cannot log in, and every token of theirs is refused. */
  disabled: boolean;
  /**
   * Tokens carry the version they were issued at (`sv`); a token older than this is
   * refused. Bumped when the password, the role or the enabled state changes.
   */
  sessionVersion: number;
}

export function initialUserState(id: string): UserState {
  return { exists: false, id, username: '', role: null, disabled: false, sessionVersion: 0 };
}
