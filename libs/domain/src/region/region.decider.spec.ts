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

  describe('import', () => {
    const IMPORT = { type: 'region.import' as const, payload: { code: 'N', name: 'North' } };
    const DEFINED = given(regionDecider, [envelope('region.defined', DEFINE.payload)], 'region-north');

    it('defines a new region', () => {
      expect(regionDecider.decide(IMPORT, NEW, contextOf(ACTORS.admin))).toEqual([
        { type: 'region.defined', data: { code: 'N', name: 'North' } },
      ]);
    });

    it('is nothing to do for the same region again', () => {
      expect(regionDecider.decide(IMPORT, DEFINED, contextOf(ACTORS.admin))).toEqual([]);
    });

    it('refuses another name for an existing region (regions are not renamed)', () => {
      const renamed = { ...IMPORT, payload: { code: 'N', name: 'Nord' } };
      const error = expectRefused(() => regionDecider.decide(renamed, DEFINED, contextOf(ACTORS.admin)), Conflict);
      expect(error.message).toBe('region N exists as "North"; a region cannot be renamed');
    });

    it('forbids anyone but hq-admin', () => {
      expectRefused(() => regionDecider.decide(IMPORT, DEFINED, contextOf(ACTORS.editor)), Forbidden);
    });
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
