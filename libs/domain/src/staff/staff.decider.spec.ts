import type { SealedText, StaffAdded } from '@lastmeter/contracts';
import type { StaffCommand } from '../commands';
import { credentialChanges } from '../credentials';
import { Conflict, Forbidden, NotFound, RuleViolation } from '../errors';
import { ACTORS, contextOf, envelope, expectInvalid, expectRefused, given } from '../testing';
import { staffDecider } from './staff.decider';
import type { StaffState } from './staff.state';

const NAME: SealedText = { enc: 'A256GCM', iv: 'aXY', data: 'c2VhbGVk' };
const OTHER_NAME: SealedText = { enc: 'A256GCM', iv: 'aXZ', data: 'b3RoZXI' };
const ADDED: StaffAdded = { storeId: 'store-1', name: NAME, roles: ['cashier', 'sales'] };
const NEW = staffDecider.initialState('staff-1');
const state = (...more: Parameters<typeof envelope>[]) =>
  given(staffDecider, [envelope('staff.added', ADDED), ...more.map((args) => envelope(...args))], 'staff-1');
const ACTIVE = state();
const REMOVED = state(['staff.removed', { storeId: 'store-1' }]);
const ERASED = state(['staff.erased', { storeId: 'store-1' }]);
const OTHER_MANAGER = { id: 'manager-2', role: 'store-manager' as const, storeId: 'store-2' };

const decide = (command: StaffCommand, current: StaffState, actor = ACTORS.admin) =>
  staffDecider.decide(command, current, contextOf(actor));
const add = (storeId = 'store-1'): StaffCommand => ({
  type: 'staff.add',
  payload: { storeId, name: NAME, roles: ['sales', 'cashier', 'sales'], pinHash: 'scrypt$pin' },
});

describe('staffDecider', () => {
  describe('add', () => {
    it('adds a person with their sealed name and roles (sorted, once each)', () => {
      expect(decide(add(), NEW)).toEqual([{ type: 'staff.added', data: ADDED }]);
      expect(decide(add(), NEW, ACTORS.manager)).toEqual([{ type: 'staff.added', data: ADDED }]);
    });

    it('refuses a manager of another store, other roles, an unknown store and an existing id', () => {
      expectRefused(() => decide(add(), NEW, OTHER_MANAGER), Forbidden);
      for (const actor of [ACTORS.editor, ACTORS.analyst, ACTORS.terminal, ACTORS.agency]) {
        expectRefused(() => decide(add(), NEW, actor), Forbidden);
      }
      expectInvalid(() => decide(add('store-9'), NEW), ['storeId']);
      expectRefused(() => decide(add(), ACTIVE), Conflict);
    });

    it('keeps the PIN out of the events: its hash goes to the credentials topic', () => {
      const events = decide(add(), NEW);
      expect(JSON.stringify(events)).not.toContain('scrypt');
      expect(credentialChanges(add(), 'staff-1', events, 'now')).toEqual([
        { id: 'staff-1', record: { kind: 'staff-pin', staffId: 'staff-1', pinHash: 'scrypt$pin', setAt: 'now' } },
      ]);
    });
  });

  describe('update', () => {
    const update = (payload: Extract<StaffCommand, { type: 'staff.update' }>['payload']): StaffCommand => ({
      type: 'staff.update',
      payload,
    });

    it('records only what changed', () => {
      expect(decide(update({ roles: ['cashier', 'sales'] }), ACTIVE)).toEqual([]);
      expect(decide(update({ roles: ['stock'], name: OTHER_NAME, pinHash: 'p' }), ACTIVE)).toEqual([
        { type: 'staff.updated', data: { storeId: 'store-1', name: OTHER_NAME, roles: ['stock'], pinChanged: true } },
      ]);
      const renamed = given(
        staffDecider,
        [
          envelope('staff.added', ADDED),
          envelope('staff.updated', { storeId: 'store-1', name: OTHER_NAME }, { version: 2 }),
        ],
        'staff-1',
      );
      expect(renamed.name).toEqual(OTHER_NAME);
    });

    it('refuses another store, an unknown person and someone no longer active', () => {
      expectRefused(() => decide(update({ roles: ['stock'] }), ACTIVE, OTHER_MANAGER), Forbidden);
      expectRefused(() => decide(update({ roles: ['stock'] }), NEW), NotFound);
      expectRefused(() => decide(update({ roles: ['stock'] }), REMOVED), RuleViolation);
      expectRefused(() => decide(update({ roles: ['stock'] }), ERASED), RuleViolation);
    });
  });

  describe('remove and erase', () => {
    const REMOVE: StaffCommand = { type: 'staff.remove', payload: { reason: 'left' } };
    const ERASE: StaffCommand = { type: 'staff.erase', payload: {} };

    it('removes once; the PIN is deleted', () => {
      const events = decide(REMOVE, ACTIVE, ACTORS.manager);
      expect(events).toEqual([{ type: 'staff.removed', data: { storeId: 'store-1', reason: 'left' } }]);
      expect(credentialChanges(REMOVE, 'staff-1', events, 'now')).toEqual([{ id: 'staff-1', record: null }]);
      expectRefused(() => decide(REMOVE, REMOVED), RuleViolation);
    });

    it('erases (hq-admin only), active or removed, once: the PIN and the person key are deleted', () => {
      expectRefused(() => decide(ERASE, ACTIVE, ACTORS.manager), Forbidden);
      const events = decide(ERASE, REMOVED);
      expect(events).toEqual([{ type: 'staff.erased', data: { storeId: 'store-1' } }]);
      expect(decide(ERASE, ACTIVE)).toEqual(events);
      expect(credentialChanges(ERASE, 'staff-1', events, 'now')).toEqual([
        { id: 'staff-1', record: null },
        { id: 'staff-1', record: null, topic: 'person-key' },
      ]);
      expect(ERASED.status).toBe('erased');
      expect(ERASED.name).toBeUndefined();
      expectRefused(() => decide(ERASE, ERASED), RuleViolation);
      expectRefused(() => decide(ERASE, NEW), NotFound);
    });
  });
});
