import type { DomainEvent } from '@lastmeter/contracts';
import { requireRole } from '../access';
import type { RegionCommand } from '../commands';
import type { Decider } from '../decider';
import { Conflict } from '../errors';
import { initialRegionState, type RegionState } from './region.state';

export const regionDecider: Decider<RegionState, RegionCommand> = {
  aggregateType: 'region',
  initialState: initialRegionState,
  decide(command, state, { actor }) {
    requireRole(actor, ['hq-admin'], 'define a region');
    const { code, name } = command.payload;
    if (command.type === 'region.import' && state.exists) {
      // Regions have no rename event: the same name is nothing to do, another is refused.
      if (state.name === name) return [];
      throw new Conflict(`region ${state.code} exists as "${state.name}"; a region cannot be renamed`);
    }
    if (state.exists) throw new Conflict('region already exists');
    return [{ type: 'region.defined', data: { code, name } }];
  },
  evolve(state: RegionState, event: DomainEvent): RegionState {
    if (event.type !== 'region.defined') return state;
    return { ...state, exists: true, code: event.data.code, name: event.data.name };
  },
};
