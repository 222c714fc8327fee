import { AGGREGATE_TYPES } from '@lastmeter/contracts';
import { aggregateTypeOfCommand, DECIDERS } from './index';

describe('domain index', () => {
  it('has one decider per aggregate type, each naming its own type', () => {
    expect(Object.keys(DECIDERS).sort()).toEqual([...AGGREGATE_TYPES].sort());
    for (const [type, decider] of Object.entries(DECIDERS)) {
      expect(decider.aggregateType).toBe(type);
      expect(decider.initialState('x')).toMatchObject({ exists: false, id: 'x' });
    }
  });

  it.each([
    ['communication.publish-due', 'communication'],
    ['region.define', 'region'],
    ['store.update', 'store'],
    ['terminal.enroll', 'terminal'],
    ['user.create', 'user'],
  ] as const)('routes %s to %s', (command, aggregate) => {
    expect(aggregateTypeOfCommand(command)).toBe(aggregate);
  });
});
