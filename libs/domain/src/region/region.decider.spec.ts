import { ACTOR_ROLES } from '@lastmeter/contracts';
import { Conflict, Forbidden } from '../errors';
import { ACTORS, actorOf, contextOf, envelope, expectRefused, given } from '../testing';
import { regionDecider } from './region.decider';

const DEFINE = { type: 'region.define' as const, payload: { code: 'N', name: 'North' } };
const NEW = regionDecider.initialState('region-north');

describe('regionDecider', () => {
  it('defines a region', () => {
    expect(regionDecider.decide(DEFINE, NEW, contextOf(ACTORS.admin))).toEqual([
      { type: 'region.defined', data: { code: 'N', name: 'North' } },
    ]);
  });

  it.each(ACTOR_ROLES.filter((role) => role !== 'hq-admin'))('forbids %s to define a region', (role) => {
    expectRefused(() => regionDecider.decide(DEFINE, NEW, contextOf(actorOf(role))), Forbidden);
  });

  it('refuses to define a region twice', () => {
    const state = given(regionDecider, [envelope('region.defined', DEFINE.payload)], 'region-north');
    const error = expectRefused(() => regionDecider.decide(DEFINE, state, contextOf(ACTORS.admin)), Conflict);
    expect(error.message).toBe('region already exists');
  });

  it('evolves from defined, ignoring other events', () => {
    const state = given(
      regionDecider,
      [envelope('region.defined', DEFINE.payload), envelope('store.updated', { name: 'x' })],
      'region-north',
    );
    expect(state).toEqual({ exists: true, id: 'region-north', code: 'N', name: 'North' });
    expect(NEW).toEqual({ exists: false, id: 'region-north', code: '', name: '' });
  });
});
