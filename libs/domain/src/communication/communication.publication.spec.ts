import type { ActorRole } from '@lastmeter/contracts';
import type { CommunicationCommand } from '../commands';
import { Forbidden, RuleViolation } from '../errors';
import { ACTORS, actorOf, applyDrafts, at, envelope, expectInvalid, expectRefused, given, NOW } from '../testing';
import { communicationDecider } from './communication.decider';
import { decide, TASK, historyTo, NEW, NOTICE, stateAt } from './communication.testing';

const publish = (payload: { publishAt?: string; expiresAt?: string } = {}): CommunicationCommand => ({
  type: 'communication.publish',
  payload,
});
const PUBLISH_DUE: CommunicationCommand = { type: 'communication.publish-due', payload: {} };
const EXPIRE: CommunicationCommand = { type: 'communication.expire', payload: {} };
const minutesFromNow = (minutes: number) => ({ now: new Date(NOW.getTime() + minutes * 60_000) });

describe('communicationDecider (publication)', () => {
  describe('publish', () => {
    it('publishes an approved communication now', () => {
      expect(decide(publish(), stateAt('approved', ACTORS.agency))).toEqual([
        { type: 'communication.published', data: { revision: 1 } },
      ]);
    });

    it('publishes now with an expiry', () => {
      expect(decide(publish({ expiresAt: at(60) }), stateAt('approved'))).toEqual([
        { type: 'communication.published', data: { revision: 1, expiresAt: at(60) } },
      ]);
    });

    it('schedules when publishAt is given', () => {
      expect(decide(publish({ publishAt: at(30), expiresAt: at(90) }), stateAt('approved'))).toEqual([
        { type: 'communication.scheduled', data: { revision: 1, publishAt: at(30), expiresAt: at(90) } },
      ]);
      expect(decide(publish({ publishAt: at(30) }), stateAt('approved'))[0].data).toEqual({
        revision: 1,
        publishAt: at(30),
      });
    });

    it('publishes the current revision', () => {
      const revised = given(
        communicationDecider,
        [...historyTo('approved'), envelope('communication.revised', { revision: 2, changes: { title: 'v2' } })],
        'comm-1',
      );
      expect(decide(publish(), revised)[0].data).toEqual({ revision: 2 });
    });

    it.each(['drafted', 'submitted'] as const)("self-approves an editor's own %s communication", (status) => {
      expect(decide(publish({ publishAt: at(5) }), stateAt(status, ACTORS.editor), ACTORS.admin)).toEqual([
        { type: 'communication.approved', data: { selfApproved: true } },
        { type: 'communication.scheduled', data: { revision: 1, publishAt: at(5) } },
      ]);
      expect(decide(publish(), stateAt(status, ACTORS.admin)).map((e) => e.type)).toEqual([
        'communication.approved',
        'communication.published',
      ]);
    });

    it.each(['drafted', 'submitted', 'rejected'] as const)(
      'refuses to publish an agency communication that is %s',
      (status) => {
        const error = expectRefused(() => decide(publish(), stateAt(status, ACTORS.agency)), RuleViolation);
        expect(error.message).toBe('only an approved communication can be published');
      },
    );

    it("refuses to publish an editor's rejected communication", () => {
      expectRefused(() => decide(publish(), stateAt('rejected', ACTORS.editor)), RuleViolation);
    });

    it.each(['scheduled', 'published', 'retracted', 'expired'] as const)(
      'refuses to publish a %s communication',
      (status) => {
        expectRefused(() => decide(publish(), stateAt(status)), RuleViolation);
      },
    );

    it.each<ActorRole>(['agency', 'analyst', 'store-manager', 'terminal', 'system'])(
      'forbids %s to publish',
      (role) => {
        expectRefused(() => decide(publish(), stateAt('approved'), actorOf(role)), Forbidden);
      },
    );

    it.each([
      ['publishAt in the past', { publishAt: at(-1) }, ['publishAt']],
      ['publishAt now', { publishAt: NOW.toISOString() }, ['publishAt']],
      ['publishAt not a date', { publishAt: 'soon' }, ['publishAt']],
      ['expiresAt in the past', { expiresAt: at(-1) }, ['expiresAt']],
      ['expiresAt before publishAt', { publishAt: at(60), expiresAt: at(30) }, ['expiresAt']],
      ['expiresAt equal to publishAt', { publishAt: at(60), expiresAt: at(60) }, ['expiresAt']],
      ['both in the past', { publishAt: at(-10), expiresAt: at(-20) }, ['publishAt', 'expiresAt']],
    ])('refuses %s', (_name, payload, fields) => {
      expectInvalid(() => decide(publish(payload), stateAt('approved')), fields);
    });

    it('folds a self-approved publication', () => {
      const state = stateAt('drafted', ACTORS.editor);
      const drafts = decide(publish({ expiresAt: at(60) }), state);
      expect(applyDrafts(communicationDecider, state, drafts, ACTORS.editor)).toMatchObject({
        status: 'published',
        selfApproved: true,
        expiresAt: at(60),
      });
    });
  });

  describe('retract', () => {
    it('retracts a published communication with a reason', () => {
      expect(
        decide({ type: 'communication.retract', payload: { reason: 'wrong price' } }, stateAt('published')),
      ).toEqual([{ type: 'communication.retracted', data: { reason: 'wrong price' } }]);
    });

    it('retracts a scheduled communication without a reason', () => {
      const [event] = decide({ type: 'communication.retract', payload: { reason: undefined } }, stateAt('scheduled'));
      expect(event).toEqual({ type: 'communication.retracted', data: {} });
      expect(event.data).not.toHaveProperty('reason');
    });

    it.each(['drafted', 'submitted', 'approved', 'rejected', 'retracted', 'expired'] as const)(
      'refuses to retract a %s communication',
      (status) => {
        expectRefused(() => decide({ type: 'communication.retract', payload: {} }, stateAt(status)), RuleViolation);
      },
    );

    it.each<ActorRole>(['agency', 'analyst', 'store-manager', 'terminal', 'system'])(
      'forbids %s to retract',
      (role) => {
        expectRefused(
          () => decide({ type: 'communication.retract', payload: {} }, stateAt('published'), actorOf(role)),
          Forbidden,
        );
      },
    );
  });

  describe('publish-due (scheduler)', () => {
    it('publishes a scheduled communication once publishAt has come', () => {
      for (const minutes of [60, 61]) {
        expect(decide(PUBLISH_DUE, stateAt('scheduled'), ACTORS.system, minutesFromNow(minutes))).toEqual([
          { type: 'communication.published', data: { revision: 1, expiresAt: at(120) } },
        ]);
      }
    });

    it('refuses before publishAt', () => {
      expectRefused(() => decide(PUBLISH_DUE, stateAt('scheduled'), ACTORS.system, minutesFromNow(59)), RuleViolation);
    });

    it.each(['drafted', 'approved', 'published', 'retracted'] as const)('refuses a %s communication', (status) => {
      expectRefused(() => decide(PUBLISH_DUE, stateAt(status), ACTORS.system, minutesFromNow(90)), RuleViolation);
    });

    it.each<ActorRole>(['hq-admin', 'hq-editor', 'agency', 'terminal'])('forbids %s', (role) => {
      expectRefused(() => decide(PUBLISH_DUE, stateAt('scheduled'), actorOf(role), minutesFromNow(90)), Forbidden);
    });
  });

  describe('expire (scheduler)', () => {
    it('expires a published communication once expiresAt has come', () => {
      expect(decide(EXPIRE, stateAt('published'), ACTORS.system, minutesFromNow(120))).toEqual([
        { type: 'communication.expired', data: { expiresAt: at(120) } },
      ]);
    });

    it('refuses before expiresAt', () => {
      expectRefused(() => decide(EXPIRE, stateAt('published'), ACTORS.system, minutesFromNow(119)), RuleViolation);
    });

    it('refuses a published communication without expiry', () => {
      const state = given(
        communicationDecider,
        [...historyTo('approved'), envelope('communication.published', { revision: 1 })],
        'comm-1',
      );
      expectRefused(() => decide(EXPIRE, state, ACTORS.system, minutesFromNow(10_000)), RuleViolation);
    });

    it.each(['scheduled', 'retracted', 'expired'] as const)('refuses a %s communication', (status) => {
      expectRefused(() => decide(EXPIRE, stateAt(status), ACTORS.system, minutesFromNow(500)), RuleViolation);
    });

    it.each<ActorRole>(['hq-admin', 'hq-editor', 'agency', 'analyst'])('forbids %s', (role) => {
      expectRefused(() => decide(EXPIRE, stateAt('published'), actorOf(role), minutesFromNow(500)), Forbidden);
    });
  });

  describe('due time (issue 21)', () => {
    const REMIND: CommunicationCommand = { type: 'communication.remind-due', payload: {} };
    const task = () => stateAt('published', undefined, TASK);

    it('reminds once when the due time of a live communication has come', () => {
      const events = decide(REMIND, task(), ACTORS.system, minutesFromNow(24 * 60));
      expect(events).toEqual([{ type: 'communication.due-reached', data: { dueAt: TASK.dueAt, revision: 1 } }]);
      const reminded = communicationDecider.evolve(
        task(),
        envelope('communication.due-reached', events[0]!.data as never),
      );
      expect(reminded.dueReachedAt).toBe(TASK.dueAt);
      expectRefused(() => decide(REMIND, reminded, ACTORS.system, minutesFromNow(24 * 60 + 5)), RuleViolation);
    });

    it('refuses before the due time, without one, when not live, and for anyone but the system', () => {
      expectRefused(() => decide(REMIND, task(), ACTORS.system, minutesFromNow(60)), RuleViolation);
      expectRefused(() => decide(REMIND, stateAt('published'), ACTORS.system, minutesFromNow(10_000)), RuleViolation);
      expectRefused(
        () => decide(REMIND, stateAt('retracted', undefined, TASK), ACTORS.system, minutesFromNow(10_000)),
        RuleViolation,
      );
      expectRefused(() => decide(REMIND, task(), ACTORS.admin, minutesFromNow(10_000)), Forbidden);
    });
  });

  describe('evolve', () => {
    it('folds scheduling, publication, retraction and expiry', () => {
      expect(stateAt('scheduled')).toMatchObject({ status: 'scheduled', publishAt: at(60), expiresAt: at(120) });
      expect(stateAt('published')).toMatchObject({ status: 'published', expiresAt: at(120), selfApproved: false });
      expect(stateAt('retracted').status).toBe('retracted');
      expect(stateAt('expired').status).toBe('expired');
    });

    it('folds a scheduled publication coming due', () => {
      const events = [
        ...historyTo('scheduled'),
        envelope('communication.published', { revision: 1, expiresAt: at(120) }),
      ];
      expect(given(communicationDecider, events, 'comm-1')).toEqual({
        exists: true,
        id: 'comm-1',
        status: 'published',
        revision: 1,
        content: NOTICE,
        author: ACTORS.editor,
        publishAt: at(60),
        expiresAt: at(120),
        // When the published event was appended (its occurredAt).
        publishedAt: events.at(-1)!.occurredAt,
        selfApproved: false,
      });
      expect(NEW.status).toBe('none');
    });
  });
});
