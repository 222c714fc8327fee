import type { SealedText, StoreRole } from '@lastmeter/contracts';

/** `active` works in the store; `removed` left (history kept); `erased`: their personal data is gone. */
export type StaffStatus = 'none' | 'active' | 'removed' | 'erased';

export interface StaffState {
  exists: boolean;
  id: string;
  status: StaffStatus;
  storeId: string;
  /** Sealed with the person's key (absent once erased). */
  name?: SealedText;
  roles: StoreRole[];
}

export function initialStaffState(id: string): StaffState {
  return { exists: false, id, status: 'none', storeId: '', roles: [] };
}
