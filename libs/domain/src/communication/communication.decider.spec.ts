import type { ActorRole } from '@lastmeter/contracts';
import type { CommunicationCommand } from '../commands';
import { Conflict, Forbidden, NotFound, RuleViolation } from '../errors';
import { ACTORS, actorOf, envelope, expectInvalid, expectRefused, given } from '../testing';
import { communicationDecider } from './communication.decider';
import {
  decide,
  historyTo,
  NEW,
  NOTICE,
  NOTICE_INPUT,
  stateAt,
  statusesExcept,
  TASK,
  TRAINING,
} from './communication.testing';

const REVISE_TITLE: CommunicationCommand = { type: 'communication.revise', payload: { title: 'New labels' } };
const SUBMIT: CommunicationCommand = { type: 'communication.submit', payload: {} };
const APPROVE: CommunicationCommand = { type: 'communication.approve', payload: {} };
const REJECT: CommunicationCommand = { type: 'communication.reject', payload: { reason: 'wrong aisle' } };

describe('communicationDecider (authoring and review)', () => {
  describe('draft', () => {
    it('drafts a communication as revision 1', () => {
      expect(decide({ type: 'communication.draft', payload: NOTICE_INPUT }, NEW)).toEqual([
        { type: 'communication.drafted', data: { ...NOTICE, revision: 1 } },
      ]);
    });

    it.each<ActorRole>(['agency', 'hq-editor', 'hq-admin'])('lets %s draft', (role) => {
      expect(decide({ type: 'communication.draft', payload: NOTICE_INPUT }, NEW, actorOf(role))).toHaveLength(1);
    });

    it.each<ActorRole>(['store-manager', 'analyst', 'terminal', 'system'])('forbids %s to draft', (role) => {
      expectRefused(
        () => decide({ type: 'communication.draft', payload: NOTICE_INPUT }, NEW, actorOf(role)),
        Forbidden,
      );
    });

    it('refuses to draft over an existing communication', () => {
      expectRefused(() => decide({ type: 'communication.draft', payload: NOTICE_INPUT }, stateAt('drafted')), Conflict);
    });
  });

  it.each<[CommunicationCommand, ActorRole]>([
    [REVISE_TITLE, 'hq-editor'],
    [SUBMIT, 'hq-editor'],
    [APPROVE, 'hq-editor'],
    [REJECT, 'hq-editor'],
    [{ type: 'communication.publish', payload: {} }, 'hq-editor'],
    [{ type: 'communication.retract', payload: {} }, 'hq-admin'],
    [{ type: 'communication.publish-due', payload: {} }, 'system'],
    [{ type: 'communication.expire', payload: {} }, 'system'],
  ])('refuses %j on a communication that does not exist', (command, role) => {
    expectRefused(() => decide(command, NEW, actorOf(role)), NotFound);
  });

  describe('revise', () => {
    it('records only the changed fields under the next revision', () => {
      const payload = { ...NOTICE_INPUT, title: 'New labels', priority: 'urgent' as const };
      expect(decide({ type: 'communication.revise', payload }, stateAt('drafted'))).toEqual([
        { type: 'communication.revised', data: { revision: 2, changes: { title: 'New labels', priority: 'urgent' } } },
      ]);
    });

    it.each(statusesExcept('retracted', 'expired'))('lets an editor revise a %s communication', (status) => {
      expect(decide(REVISE_TITLE, stateAt(status, ACTORS.agency))[0].type).toBe('communication.revised');
    });

    it.each(['retracted', 'expired'] as const)('refuses to revise a %s communication', (status) => {
      expectRefused(() => decide(REVISE_TITLE, stateAt(status)), RuleViolation);
    });

    it.each(['drafted', 'rejected'] as const)('lets agency revise its own %s communication', (status) => {
      expect(decide(REVISE_TITLE, stateAt(status, ACTORS.agency), ACTORS.agency)).toHaveLength(1);
    });

    it.each(statusesExcept('drafted', 'rejected'))('refuses agency a revision once %s', (status) => {
      expectRefused(() => decide(REVISE_TITLE, stateAt(status, ACTORS.agency), ACTORS.agency), RuleViolation);
    });

    it('forbids agency to revise what head office wrote', () => {
      expectRefused(() => decide(REVISE_TITLE, stateAt('drafted', ACTORS.editor), ACTORS.agency), Forbidden);
    });

    it.each<ActorRole>(['store-manager', 'analyst', 'terminal', 'system'])('forbids %s to revise', (role) => {
      expectRefused(() => decide(REVISE_TITLE, stateAt('drafted'), actorOf(role)), Forbidden);
    });

    it.each([
      ['an empty payload', {}],
      ['the same content', NOTICE_INPUT],
      ['undefined fields only', { title: undefined, dueAt: undefined }],
    ])('refuses a revision with %s', (_name, payload) => {
      const error = expectRefused(
        () => decide({ type: 'communication.revise', payload }, stateAt('drafted')),
        RuleViolation,
      );
      expect(error.message).toBe('revision changes nothing');
    });

    it('clears the fields of the old kind when the kind changes', () => {
      expect(
        decide(
          { type: 'communication.revise', payload: { kind: 'notice' } },
          stateAt('drafted', undefined, { ...TASK, evidence: 'none' }),
        )[0].data,
      ).toEqual({
        revision: 2,
        changes: { kind: 'notice', evidence: 'none' },
      });
      const training = stateAt('drafted', undefined, TRAINING);
      expectInvalid(
        () => decide({ type: 'communication.revise', payload: { kind: 'notice' } }, training),
        ['questions'],
      );
      expect(
        decide({ type: 'communication.revise', payload: { kind: 'notice', questions: [] } }, training)[0].data,
      ).toEqual({ revision: 2, changes: { kind: 'notice', questions: [] } });
    });
  });

  describe('submit', () => {
    it.each(['drafted', 'rejected'] as const)('lets agency submit its own %s communication', (status) => {
      expect(decide(SUBMIT, stateAt(status, ACTORS.agency), ACTORS.agency)).toEqual([
        { type: 'communication.submitted', data: {} },
      ]);
    });

    it.each<ActorRole>(['hq-editor', 'hq-admin'])('lets %s submit any draft', (role) => {
      expect(decide(SUBMIT, stateAt('drafted', ACTORS.agency), actorOf(role))).toHaveLength(1);
      expect(decide(SUBMIT, stateAt('drafted', ACTORS.editor), actorOf(role))).toHaveLength(1);
    });

    it('forbids agency to submit what head office wrote', () => {
      expectRefused(() => decide(SUBMIT, stateAt('drafted', ACTORS.admin), ACTORS.agency), Forbidden);
    });

    it.each<ActorRole>(['store-manager', 'analyst', 'terminal', 'system'])('forbids %s to submit', (role) => {
      expectRefused(() => decide(SUBMIT, stateAt('drafted'), actorOf(role)), Forbidden);
    });

    it.each(statusesExcept('drafted', 'rejected'))('refuses to submit a %s communication', (status) => {
      expectRefused(() => decide(SUBMIT, stateAt(status, ACTORS.agency), ACTORS.agency), RuleViolation);
    });
  });

  describe('approve and reject', () => {
    it('approves a submitted communication, not as a self-approval', () => {
      expect(decide(APPROVE, stateAt('submitted', ACTORS.agency))).toEqual([
        { type: 'communication.approved', data: { selfApproved: false } },
      ]);
    });

    it('rejects a submitted communication with its reason', () => {
      expect(decide(REJECT, stateAt('submitted', ACTORS.agency), ACTORS.admin)).toEqual([
        { type: 'communication.rejected', data: { reason: 'wrong aisle' } },
      ]);
    });

    it.each<[string, CommunicationCommand, ActorRole]>(
      (['agency', 'store-manager', 'analyst', 'terminal', 'system'] as const).flatMap((role) => [
        ['approve', APPROVE, role] as [string, CommunicationCommand, ActorRole],
        ['reject', REJECT, role] as [string, CommunicationCommand, ActorRole],
      ]),
    )('forbids to %s for %s', (_verb, command, role) => {
      expectRefused(() => decide(command, stateAt('submitted', ACTORS.agency), actorOf(role)), Forbidden);
    });

    it.each(statusesExcept('submitted'))('refuses a review of a %s communication', (status) => {
      expectRefused(() => decide(APPROVE, stateAt(status, ACTORS.agency)), RuleViolation);
      expectRefused(() => decide(REJECT, stateAt(status, ACTORS.agency)), RuleViolation);
    });

    it('refuses a rejection without a reason', () => {
      expectInvalid(
        () => decide({ type: 'communication.reject', payload: { reason: '  ' } }, stateAt('submitted')),
        ['reason'],
      );
    });
  });

  describe('evolve', () => {
    const { evolve } = communicationDecider;

    it('folds a review round trip', () => {
      const events = [
        envelope('communication.drafted', { ...NOTICE, revision: 1 }, { actor: ACTORS.agency }),
        envelope('communication.revised', { revision: 2, changes: { title: 'Two' } }),
        envelope('communication.submitted', {}),
        envelope('communication.rejected', { reason: 'too long' }),
      ];
      const rejected = events.reduce(evolve, NEW);
      expect(rejected).toEqual({
        exists: true,
        id: 'comm-1',
        status: 'rejected',
        revision: 2,
        content: { ...NOTICE, title: 'Two' },
        author: ACTORS.agency,
        selfApproved: false,
        rejectionReason: 'too long',
      });

      const reworked = evolve(
        rejected,
        envelope('communication.revised', { revision: 3, changes: { body: 'Short.' } }),
      );
      expect(reworked).toMatchObject({ status: 'drafted', revision: 3, content: { body: 'Short.' } });
      const resubmitted = evolve(reworked, envelope('communication.submitted', {}));
      expect(resubmitted.status).toBe('submitted');
      expect(resubmitted).not.toHaveProperty('rejectionReason');
    });

    it('keeps the status when a revision lands outside review', () => {
      const revised = evolve(
        stateAt('published'),
        envelope('communication.revised', { revision: 2, changes: { title: 'Fix' } }),
      );
      expect(revised).toMatchObject({ status: 'published', revision: 2, content: { title: 'Fix' } });
    });

    it('applies a kind change that clears the old kind fields', () => {
      const state = stateAt('drafted', undefined, TASK);
      const revised = evolve(
        state,
        envelope('communication.revised', { revision: 2, changes: { kind: 'notice', evidence: 'none' } }),
      );
      const { evidence: _evidence, ...withoutEvidence } = TASK;
      expect(revised.content).toEqual({ ...withoutEvidence, kind: 'notice' });
      expect(revised.content).not.toHaveProperty('evidence');
    });

    it('never mutates the state it is given', () => {
      const state = stateAt('submitted');
      const before = structuredClone(state);
      evolve(state, envelope('communication.rejected', { reason: 'no' }));
      evolve(state, envelope('communication.revised', { revision: 2, changes: { title: 'x' } }));
      expect(state).toEqual(before);
    });

    it('ignores events of other aggregates', () => {
      const state = stateAt('drafted');
      expect(evolve(state, envelope('region.defined', { code: 'N', name: 'North' }))).toBe(state);
    });

    it('records the author from the drafted event actor', () => {
      expect(stateAt('drafted', ACTORS.admin).author).toEqual(ACTORS.admin);
      expect(NEW).toMatchObject({ exists: false, status: 'none', revision: 0, author: null });
    });
  });
});

describe('communication.reject-evidence', () => {
  const taskState = () => stateAt('published', ACTORS.editor, TASK);
  const reject = (
    state = taskState(),
    payload = { storeId: 'store-1', reason: 'The photo is blurry' },
    actor = ACTORS.editor,
  ) => decide({ type: 'communication.reject-evidence', payload }, state, actor);

  it('sends a store’s evidence back with a reason, counting the rejections per store', () => {
    expect(reject()).toEqual([
      { type: 'task.evidence-rejected', data: { storeId: 'store-1', reason: 'The photo is blurry', rejection: 1 } },
    ]);
    const rejected = envelope('task.evidence-rejected', { storeId: 'store-1', reason: 'x', rejection: 1 });
    const once = given(communicationDecider, [...historyTo('published', ACTORS.editor, TASK), rejected], 'comm-1');
    expect(once.evidenceRejections).toEqual({ 'store-1': { reason: 'x', rejection: 1 } });
    expect(reject(once)[0].data).toMatchObject({ rejection: 2 });
    expect(reject(once, { storeId: 'store-2', reason: 'Wrong shelf' })[0].data).toMatchObject({ rejection: 1 });
  });

  it('refuses: not a task, not published, no reason, an unknown store, a role that may not', () => {
    expect(() => reject(stateAt('published'))).toThrow(/only the evidence of a task/);
    expect(() => reject(stateAt('drafted', ACTORS.editor, TASK))).toThrow(/while the task is published/);
    expectInvalid(() => reject(taskState(), { storeId: 'store-1', reason: ' ' }), ['reason']);
    expect(() => reject(taskState(), { storeId: 'nowhere', reason: 'x' })).toThrow(/not found/);
    expect(() => reject(taskState(), undefined, ACTORS.agency)).toThrow();
  });
});
