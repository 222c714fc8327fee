/** Communication histories for the specs: one event list per status, by a chosen author. */
import type { Actor, CommunicationContent, DomainEvent } from '@lastmeter/contracts';
import type { CommunicationCommand, CommunicationInput } from '../commands';
import { ACTORS, at, contextOf, envelope, given } from '../testing';
import type { DecideContext } from '../decider';
import { communicationDecider } from './communication.decider';
import { COMMUNICATION_STATUSES, type CommunicationState, type CommunicationStatus } from './communication.state';

export const NOTICE: CommunicationContent = {
  kind: 'notice',
  title: 'Autumn price labels',
  body: 'Replace the shelf labels in aisle 3 before opening.',
  priority: 'normal',
  audience: { regionIds: ['region-north'] },
};
export const NOTICE_INPUT: CommunicationInput = (({ priority: _default, ...input }) => input)(NOTICE);

export const TASK: CommunicationContent = {
  kind: 'task',
  title: 'Count the stock room',
  body: 'Count every pallet and report the total.',
  priority: 'urgent',
  audience: { storeIds: ['store-1'] },
  dueAt: at(24 * 60),
  evidence: 'photo',
};

export const TRAINING: CommunicationContent = {
  kind: 'training',
  title: 'Card payments',
  body: 'How to take a contactless payment.',
  priority: 'normal',
  audience: { all: true },
  questions: [{ prompt: 'Tap limit?', options: ['50', '100'], answer: 1 }],
};

export type LiveStatus = Exclude<CommunicationStatus, 'none'>;

/** The events that bring a communication to `status`; reviews and publishing by an editor. */
export function historyTo(
  status: LiveStatus,
  author: Actor = ACTORS.editor,
  content: CommunicationContent = NOTICE,
): DomainEvent[] {
  const by = (actor: Actor) => ({ actor });
  const drafted = [envelope('communication.drafted', { ...content, revision: 1 }, by(author))];
  const submitted = [...drafted, envelope('communication.submitted', {}, by(author))];
  const approved = [...submitted, envelope('communication.approved', { selfApproved: false }, by(ACTORS.editor))];
  const published = [
    ...approved,
    envelope('communication.published', { revision: 1, expiresAt: at(120) }, by(ACTORS.editor)),
  ];
  const histories: Record<LiveStatus, DomainEvent[]> = {
    drafted,
    submitted,
    approved,
    rejected: [...submitted, envelope('communication.rejected', { reason: 'too long' }, by(ACTORS.editor))],
    scheduled: [
      ...approved,
      envelope('communication.scheduled', { revision: 1, publishAt: at(60), expiresAt: at(120) }, by(ACTORS.editor)),
    ],
    published,
    retracted: [...published, envelope('communication.retracted', {}, by(ACTORS.editor))],
    expired: [...published, envelope('communication.expired', { expiresAt: at(120) }, by(ACTORS.system))],
  };
  return histories[status];
}

export function stateAt(status: LiveStatus, author?: Actor, content?: CommunicationContent): CommunicationState {
  return given(communicationDecider, historyTo(status, author, content), 'comm-1');
}

export const NEW = communicationDecider.initialState('comm-1');

export function decide(
  command: CommunicationCommand,
  state: CommunicationState,
  actor: Actor = ACTORS.editor,
  overrides: Partial<DecideContext> = {},
) {
  return communicationDecider.decide(command, state, contextOf(actor, overrides));
}

export const ALL_STATUSES: LiveStatus[] = [...COMMUNICATION_STATUSES];

export function statusesExcept(...allowed: LiveStatus[]): LiveStatus[] {
  return ALL_STATUSES.filter((status) => !allowed.includes(status));
}
