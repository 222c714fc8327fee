import type { StoreRegistered } from '@lastmeter/contracts';

/** A store is what it was registered as, plus what updates changed. */
export interface StoreState extends StoreRegistered {
  exists: boolean;
  id: string;
}

export function initialStoreState(id: string): StoreState {
  return { exists: false, id, code: '', name: '', regionId: '', tags: [], locale: 'en', timezone: 'UTC' };
}
