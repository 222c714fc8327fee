import {
  withoutStaleMarks,
  type Actor,
  type DomainEvent,
  type EventDataByType,
  type EventDraft,
} from '@lastmeter/contracts';
import { EDITOR_ROLES, isEditor, requireRole } from '../access';
import type { CommunicationCommand, CommunicationInput } from '../commands';
import type { DecideContext, Decider } from '../decider';
import { Conflict, Forbidden, NotFound, RuleViolation } from '../errors';
import { FieldProblems, instant, withoutUndefined } from '../values';
import {
  assertValidContent,
  checkDeliveryGiven,
  contentChanges,
  markStaleTranslations,
  normalizeContent,
} from './communication.content';
import { initialCommunicationState, type CommunicationState } from './communication.state';

type CommunicationEventType = (keyof EventDataByType & `communication.${string}`) | 'task.evidence-rejected';
type Draft = EventDraft<CommunicationEventType, EventDataByType[CommunicationEventType]>;

function draftOf<T extends CommunicationEventType>(type: T, data: EventDataByType[T]): Draft {
  return { type, data };
}

const AUTHORS = ['agency', ...EDITOR_ROLES] as const;

/** Agency works only on what agency wrote; editors work on everything. */
function requireAuthorOrEditor(actor: Actor, state: CommunicationState, what: string): void {
  if (actor.role === 'agency' && state.author?.role !== 'agency') {
    throw new Forbidden(`agency may not ${what} a communication written by head office`);
  }
}

function requireExisting(state: CommunicationState): void {
  if (!state.exists) throw new NotFound(`communication ${state.id} not found`);
}

function draft(payload: CommunicationInput, state: CommunicationState, context: DecideContext): Draft[] {
  requireRole(context.actor, AUTHORS, 'draft a communication');
  if (state.exists) throw new Conflict(`communication ${state.id} already exists`);
  const content = normalizeContent(payload);
  if (content.translations) content.translations = withoutStaleMarks(content.translations);
  checkDeliveryGiven(payload, content);
  assertValidContent(content, { now: context.now, directory: context.directory, dueAtIsNew: true });
  return [draftOf('communication.drafted', { ...content, revision: 1 })];
}

function revise(payload: Partial<CommunicationInput>, state: CommunicationState, context: DecideContext): Draft[] {
  const { actor } = context;
  requireRole(actor, AUTHORS, 'revise a communication');
  requireExisting(state);
  requireAuthorOrEditor(actor, state, 'revise');
  if (actor.role === 'agency' && state.status !== 'drafted' && state.status !== 'rejected') {
    throw new RuleViolation(`agency may only revise a drafted or rejected communication (it is ${state.status})`);
  }
  if (state.status === 'retracted' || state.status === 'expired') {
    throw new RuleViolation(`a ${state.status} communication can no longer be revised`);
  }
  const next = normalizeContent({ ...state.content, ...withoutUndefined(payload) });
  if (next.translations) next.translations = markStaleTranslations(state.content, next, payload.translations);
  const changes = contentChanges(state.content, next);
  checkDeliveryGiven(payload, next);
  assertValidContent(next, { now: context.now, directory: context.directory, dueAtIsNew: 'dueAt' in changes });
  if (Object.keys(changes).length === 0) throw new RuleViolation('revision changes nothing');
  return [draftOf('communication.revised', { revision: state.revision + 1, changes })];
}

function submit(state: CommunicationState, context: DecideContext): Draft[] {
  requireRole(context.actor, AUTHORS, 'submit a communication');
  requireExisting(state);
  requireAuthorOrEditor(context.actor, state, 'submit');
  if (state.status !== 'drafted' && state.status !== 'rejected') {
    throw new RuleViolation(`only a drafted or rejected communication can be submitted (it is ${state.status})`);
  }
  return [draftOf('communication.submitted', {})];
}

function review(
  command: Extract<CommunicationCommand, { type: 'communication.approve' | 'communication.reject' }>,
  state: CommunicationState,
  context: DecideContext,
): Draft[] {
  const verb = command.type === 'communication.approve' ? 'approve' : 'reject';
  requireRole(context.actor, EDITOR_ROLES, `${verb} a communication`);
  requireExisting(state);
  if (state.status !== 'submitted') {
    throw new RuleViolation(`only a submitted communication can be ${verb}d (it is ${state.status})`);
  }
  if (command.type === 'communication.approve') return [draftOf('communication.approved', { selfApproved: false })];
  const { reason } = command.payload;
  // The author has to know what to fix, so a rejection without a reason is refused.
  const problems = new FieldProblems();
  if (typeof reason !== 'string' || reason.trim() === '') problems.add('reason', 'must not be empty');
  problems.throwIfAny();
  return [draftOf('communication.rejected', { reason })];
}

function publish(
  payload: { publishAt?: string; expiresAt?: string },
  state: CommunicationState,
  context: DecideContext,
): Draft[] {
  requireRole(context.actor, EDITOR_ROLES, 'publish a communication');
  requireExisting(state);
  const events: Draft[] = [];
  if (state.status === 'drafted' || state.status === 'submitted' || state.status === 'rejected') {
    // An editor's own draft needs no second pair of eyes: publishing it is the approval.
    const editorsOwn = state.status !== 'rejected' && !!state.author && isEditor(state.author.role);
    if (!editorsOwn) throw new RuleViolation('only an approved communication can be published');
    events.push(draftOf('communication.approved', { selfApproved: true }));
  } else if (state.status !== 'approved') {
    throw new RuleViolation(`a ${state.status} communication cannot be published again`);
  }
  const { publishAt, expiresAt } = assertPublicationWindow(payload, context.now);
  if (publishAt !== undefined) {
    events.push(
      draftOf('communication.scheduled', withoutUndefined({ revision: state.revision, publishAt, expiresAt })),
    );
  } else {
    events.push(draftOf('communication.published', withoutUndefined({ revision: state.revision, expiresAt })));
  }
  return events;
}

function assertPublicationWindow(payload: { publishAt?: string; expiresAt?: string }, now: Date) {
  const problems = new FieldProblems();
  const publishAt = payload.publishAt === undefined ? undefined : instant(payload.publishAt);
  const expiresAt = payload.expiresAt === undefined ? undefined : instant(payload.expiresAt);
  if (payload.publishAt !== undefined) {
    if (publishAt === undefined) problems.add('publishAt', 'must be an ISO 8601 date-time');
    else if (publishAt <= now.getTime()) problems.add('publishAt', 'must be in the future');
  }
  if (payload.expiresAt !== undefined) {
    if (expiresAt === undefined) problems.add('expiresAt', 'must be an ISO 8601 date-time');
    else if (expiresAt <= (publishAt ?? now.getTime())) {
      problems.add('expiresAt', payload.publishAt === undefined ? 'must be in the future' : 'must be after publishAt');
    }
  }
  problems.throwIfAny();
  return { publishAt: payload.publishAt, expiresAt: payload.expiresAt };
}

function retract(reason: string | undefined, state: CommunicationState, context: DecideContext): Draft[] {
  requireRole(context.actor, EDITOR_ROLES, 'retract a communication');
  requireExisting(state);
  if (state.status !== 'published' && state.status !== 'scheduled') {
    throw new RuleViolation(`only a published or scheduled communication can be retracted (it is ${state.status})`);
  }
  return [draftOf('communication.retracted', withoutUndefined({ reason }))];
}

/**
 * Head office sends a store's evidence of a task back: the task reopens for that store
 * (the feed tells its tablets, which take it again). Only while the task is live, for a
 * store of the directory, with a reason the store can act on.
 */
function rejectEvidence(
  payload: { storeId: string; reason: string },
  state: CommunicationState,
  context: DecideContext,
): Draft[] {
  requireRole(context.actor, EDITOR_ROLES, "reject a store's evidence");
  requireExisting(state);
  if (state.content.kind !== 'task') throw new RuleViolation('only the evidence of a task can be rejected');
  if (state.status !== 'published') {
    throw new RuleViolation(`evidence can be rejected while the task is published (it is ${state.status})`);
  }
  const problems = new FieldProblems();
  if (typeof payload.reason !== 'string' || payload.reason.trim() === '') problems.add('reason', 'must not be empty');
  problems.throwIfAny();
  if (!context.directory.storeExists(payload.storeId)) throw new NotFound(`store ${payload.storeId} not found`);
  const rejection = (state.evidenceRejections?.[payload.storeId]?.rejection ?? 0) + 1;
  return [draftOf('task.evidence-rejected', { storeId: payload.storeId, reason: payload.reason, rejection })];
}

/** The scheduler's half of a scheduled publication. */
function publishDue(state: CommunicationState, context: DecideContext): Draft[] {
  requireRole(context.actor, ['system'], 'publish a due communication');
  requireExisting(state);
  const due = instant(state.publishAt);
  if (state.status !== 'scheduled' || due === undefined || context.now.getTime() < due) {
    throw new RuleViolation('communication is not scheduled for now');
  }
  return [
    draftOf('communication.published', withoutUndefined({ revision: state.revision, expiresAt: state.expiresAt })),
  ];
}

function expire(state: CommunicationState, context: DecideContext): Draft[] {
  requireRole(context.actor, ['system'], 'expire a communication');
  requireExisting(state);
  const { expiresAt } = state;
  const end = instant(expiresAt);
  if (state.status !== 'published' || expiresAt === undefined || end === undefined || context.now.getTime() < end) {
    throw new RuleViolation('communication is not due to expire');
  }
  return [draftOf('communication.expired', { expiresAt })];
}

/** The scheduler, at `dueAt` of a live communication: once per due time (issue 21). */
function remindDue(state: CommunicationState, context: DecideContext): Draft[] {
  requireRole(context.actor, ['system'], 'remind of a due time');
  requireExisting(state);
  const { dueAt } = state.content;
  const due = instant(dueAt);
  if (
    state.status !== 'published' ||
    dueAt === undefined ||
    due === undefined ||
    context.now.getTime() < due ||
    state.dueReachedAt === dueAt
  ) {
    throw new RuleViolation('communication is not due');
  }
  return [draftOf('communication.due-reached', { dueAt, revision: state.revision })];
}

function evolve(state: CommunicationState, event: DomainEvent): CommunicationState {
  switch (event.type) {
    case 'communication.drafted': {
      const { revision, ...content } = event.data;
      return {
        ...initialCommunicationState(state.id),
        exists: true,
        status: 'drafted',
        revision,
        content: normalizeContent(content),
        author: event.actor,
      };
    }
    case 'communication.revised':
      return {
        ...state,
        revision: event.data.revision,
        content: normalizeContent({ ...state.content, ...event.data.changes }),
        // A rejected communication goes back to the author's desk once it is reworked.
        status: state.status === 'rejected' ? 'drafted' : state.status,
      };
    case 'communication.submitted':
      return withoutUndefined({ ...state, status: 'submitted', rejectionReason: undefined });
    case 'communication.approved':
      return { ...state, status: 'approved', selfApproved: event.data.selfApproved };
    case 'communication.rejected':
      return { ...state, status: 'rejected', rejectionReason: event.data.reason };
    case 'communication.scheduled':
      return withoutUndefined({
        ...state,
        status: 'scheduled',
        publishAt: event.data.publishAt,
        expiresAt: event.data.expiresAt,
      });
    case 'communication.published':
      return withoutUndefined({
        ...state,
        status: 'published',
        expiresAt: event.data.expiresAt,
        publishedAt: event.occurredAt,
      });
    case 'communication.retracted':
      return { ...state, status: 'retracted' };
    case 'communication.expired':
      return { ...state, status: 'expired' };
    case 'communication.due-reached':
      return { ...state, dueReachedAt: event.data.dueAt };
    case 'task.evidence-rejected': {
      const { storeId, reason, rejection } = event.data;
      return { ...state, evidenceRejections: { ...state.evidenceRejections, [storeId]: { reason, rejection } } };
    }
    default:
      return state;
  }
}

export const communicationDecider: Decider<CommunicationState, CommunicationCommand> = {
  aggregateType: 'communication',
  initialState: initialCommunicationState,
  decide(command, state, context) {
    switch (command.type) {
      case 'communication.draft':
        return draft(command.payload, state, context);
      case 'communication.revise':
        return revise(command.payload, state, context);
      case 'communication.submit':
        return submit(state, context);
      case 'communication.approve':
      case 'communication.reject':
        return review(command, state, context);
      case 'communication.publish':
        return publish(command.payload, state, context);
      case 'communication.retract':
        return retract(command.payload.reason, state, context);
      case 'communication.publish-due':
        return publishDue(state, context);
      case 'communication.expire':
        return expire(state, context);
      case 'communication.remind-due':
        return remindDue(state, context);
      case 'communication.reject-evidence':
        return rejectEvidence(command.payload, state, context);
    }
  },
  evolve,
};
