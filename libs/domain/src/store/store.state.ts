export interface StoreState {
  exists: boolean;
  id: string;
  code: string;
  name: string;
  regionId: string;
  tags: string[];
  locale: string;
  timezone: string;
}

export function initialStoreState(id: string): StoreState {
  return { exists: false, id, code: '', name: '', regionId: '', tags: [], locale: 'en', timezone: 'UTC' };
}
