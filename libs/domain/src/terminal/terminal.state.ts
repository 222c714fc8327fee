import type { StoreRole, TerminalKind } from '@lastmeter/contracts';

export type TerminalStatus = 'none' | 'registered' | 'enrolled' | 'revoked';

export interface TerminalState {
  exists: boolean;
  id: string;
  status: TerminalStatus;
  storeId: string;
  name: string;
  roles: StoreRole[];
  enrollmentExpiresAt: string;
  /** Absent: a tablet. */
  kind?: TerminalKind;
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
