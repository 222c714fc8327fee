export interface RegionState {
  exists: boolean;
  id: string;
  code: string;
  name: string;
}

export function initialRegionState(id: string): RegionState {
  return { exists: false, id, code: '', name: '' };
}
