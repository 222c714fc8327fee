import type { UserRole } from '@lastmeter/contracts';

export interface UserState {
  exists: boolean;
  id: string;
  username: string;
  /** null until created. */
  role: UserRole | null;
  /** Set for a store-manager only. */
  storeId?: string;
}

export function initialUserState(id: string): UserState {
  return { exists: false, id, username: '', role: null };
}
