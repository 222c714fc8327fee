import { ACTOR_ROLES, type StoreRegistered } from '@lastmeter/contracts';
import type { StoreCommand } from '../commands';
import { Conflict, Forbidden, NotFound } from '../errors';
import { ACTORS, actorOf, contextOf, envelope, expectInvalid, expectRefused, given } from '../testing';
import { storeDecider } from './store.decider';
import type { StoreState } from './store.state';

const REGISTERED: StoreRegistered = {
  code: 'S001',
  name: 'Lyon Part-Dieu',
  regionId: 'region-north',
  tags: ['flagship'],
  locale: 'fr',
  timezone: 'Europe/Paris',
};
const NEW = storeDecider.initialState('store-1');
const EXISTING = given(storeDecider, [envelope('store.registered', REGISTERED)], 'store-1');

const decide = (command: StoreCommand, state: StoreState, actor = ACTORS.admin) =>
  storeDecider.decide(command, state, contextOf(actor));
const update = (payload: Extract<StoreCommand, { type: 'store.update' }>['payload']): StoreCommand => ({
  type: 'store.update',
  payload,
});

describe('storeDecider', () => {
  describe('register', () => {
    it('registers a store with its defaults', () => {
      const payload = { code: 'S002', name: 'Gare', regionId: 'region-south' };
      expect(decide({ type: 'store.register', payload }, NEW)).toEqual([
        { type: 'store.registered', data: { ...payload, tags: [], locale: 'en', timezone: 'UTC' } },
      ]);
    });

    it('keeps the given tags, locale and timezone', () => {
      expect(decide({ type: 'store.register', payload: REGISTERED }, NEW)[0].data).toEqual(REGISTERED);
    });

    it('refuses a second registration', () => {
      expectRefused(() => decide({ type: 'store.register', payload: REGISTERED }, EXISTING), Conflict);
    });

    it('refuses an unknown region', () => {
      expectInvalid(
        () => decide({ type: 'store.register', payload: { ...REGISTERED, regionId: 'nowhere' } }, NEW),
        ['regionId'],
      );
    });
  });

  describe('opening hours', () => {
    const HOURS = { mon: ['08:00', '20:00'] as [string, string], exceptions: { '2026-12-25': null } };

    it('keeps them at registration and changes them by update', () => {
      expect(decide({ type: 'store.register', payload: { ...REGISTERED, openingHours: HOURS } }, NEW)[0].data).toEqual({
        ...REGISTERED,
        openingHours: HOURS,
      });
      const later = { ...HOURS, sat: ['09:00', '13:00'] as [string, string] };
      expect(decide(update({ openingHours: later }), EXISTING)).toEqual([
        { type: 'store.updated', data: { openingHours: later } },
      ]);
    });

    it('refuses hours that close before they open, whatever the path (register, update, import)', () => {
      const bad = { mon: ['20:00', '08:00'] as [string, string] };
      expectInvalid(
        () => decide({ type: 'store.register', payload: { ...REGISTERED, openingHours: bad } }, NEW),
        ['openingHours'],
      );
      expectInvalid(() => decide(update({ openingHours: bad }), EXISTING), ['openingHours']);
      expectInvalid(
        () => decide({ type: 'store.import', payload: { ...REGISTERED, openingHours: bad } }, EXISTING),
        ['openingHours'],
      );
    });
  });

  describe('import', () => {
    const importing = (payload: Partial<StoreRegistered>): StoreCommand => ({
      type: 'store.import',
      payload: { code: 'S001', name: REGISTERED.name, regionId: REGISTERED.regionId, ...payload },
    });

    it('registers a new store with its defaults', () => {
      expect(decide(importing({ code: 'S002', name: 'Gare' }), NEW)).toEqual([
        {
          type: 'store.registered',
          data: { code: 'S002', name: 'Gare', regionId: 'region-north', tags: [], locale: 'en', timezone: 'UTC' },
        },
      ]);
    });

    it('is nothing to do when the row says what the store is', () => {
      expect(decide(importing(REGISTERED), EXISTING)).toEqual([]);
      // Fields the row leaves out keep their values.
      expect(decide(importing({}), EXISTING)).toEqual([]);
    });

    it('updates the fields that changed, and only those', () => {
      expect(decide(importing({ ...REGISTERED, name: 'Lyon Centre', tags: ['mall'] }), EXISTING)).toEqual([
        { type: 'store.updated', data: { name: 'Lyon Centre', tags: ['mall'] } },
      ]);
    });

    it('never changes the code (the natural key)', () => {
      expect(decide(importing({ code: 's001' }), EXISTING)).toEqual([]);
    });

    it('refuses an unknown region for a new store and for a move', () => {
      expectInvalid(() => decide(importing({ regionId: 'nowhere' }), NEW), ['regionId']);
      expectInvalid(() => decide(importing({ regionId: 'nowhere' }), EXISTING), ['regionId']);
    });

    it('forbids anyone but hq-admin', () => {
      expectRefused(() => decide(importing({}), EXISTING, ACTORS.editor), Forbidden);
    });
  });

  describe('update', () => {
    it('records only the fields that changed', () => {
      const payload = { name: 'Lyon Centre', tags: ['flagship'], locale: 'fr', timezone: 'Europe/Lyon' };
      expect(decide(update(payload), EXISTING)).toEqual([
        { type: 'store.updated', data: { name: 'Lyon Centre', timezone: 'Europe/Lyon' } },
      ]);
    });

    it('moves a store to another known region', () => {
      expect(decide(update({ regionId: 'region-south' }), EXISTING)[0].data).toEqual({ regionId: 'region-south' });
    });

    it.each([
      ['an empty payload', {}],
      ['the current values', { name: REGISTERED.name, tags: ['flagship'], regionId: 'region-north' }],
      ['undefined values', { name: undefined }],
    ])('refuses %s as nothing to update', (_name, payload) => {
      const error = expectInvalid(() => decide(update(payload), EXISTING), ['body']);
      expect(error.fields.body).toEqual(['nothing to update']);
    });

    it('refuses an unknown region', () => {
      expectInvalid(() => decide(update({ regionId: 'nowhere' }), EXISTING), ['regionId']);
    });

    it('refuses to update a store that does not exist', () => {
      expectRefused(() => decide(update({ name: 'x' }), NEW), NotFound);
    });
  });

  it.each(ACTOR_ROLES.filter((role) => role !== 'hq-admin'))('forbids %s to register or update', (role) => {
    expectRefused(() => decide({ type: 'store.register', payload: REGISTERED }, NEW, actorOf(role)), Forbidden);
    expectRefused(() => decide(update({ name: 'x' }), EXISTING, actorOf(role)), Forbidden);
  });

  it('evolves registration then updates', () => {
    const state = given(
      storeDecider,
      [
        envelope('store.registered', REGISTERED),
        envelope('store.updated', { name: 'Lyon Centre' }),
        envelope('store.updated', { tags: [], regionId: 'region-south' }),
      ],
      'store-1',
    );
    expect(state).toEqual({
      exists: true,
      id: 'store-1',
      ...REGISTERED,
      name: 'Lyon Centre',
      tags: [],
      regionId: 'region-south',
    });
    expect(NEW.exists).toBe(false);
  });
});
