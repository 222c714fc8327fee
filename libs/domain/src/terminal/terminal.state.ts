import type { StoreRole } from '@lastmeter/contracts';

export type TerminalStatus = 'none' | 'registered' | 'enrolled' | 'revoked';

export interface TerminalState {
  exists: boolean;
  id: string;
  status: TerminalStatus;
  storeId: string;
  name: string;
  roles: StoreRole[];
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
    enrollmentExpiresAt: '',
  };
}
