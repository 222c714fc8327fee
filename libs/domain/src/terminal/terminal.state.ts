import type { StoreRole } from '@lastmeter/contracts';

export type TerminalStatus = 'none' | 'registered' | 'enrolled' | 'revoked';

export interface TerminalState {
  exists: boolean;
  id: string;
  status: TerminalStatus;
  storeId: string;
  name: string;
  roles: StoreRole[];
  /** Only the hash of the one-time enrollment code is ever kept. */
  enrollmentCodeHash: string;
  enrollmentExpiresAt: string;
}

export function initialTerminalState(id: string): TerminalState {
  return {
    exists: false,
    id,
    status: 'none',
    storeId: '',
    name: '',
    roles: [],
    enrollmentCodeHash: '',
    enrollmentExpiresAt: '',
  };
}
