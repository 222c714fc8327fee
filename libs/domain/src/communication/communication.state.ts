import {
  COMMUNICATION_STATUSES,
  type Actor,
  type CommunicationContent,
  type CommunicationStatus as PublicCommunicationStatus,
} from '@lastmeter/contracts';

export { COMMUNICATION_STATUSES };

export type CommunicationStatus = 'none' | PublicCommunicationStatus;

export interface CommunicationState {
  exists: boolean;
  id: string;
  status: CommunicationStatus;
  /** 1 at draft, +1 per revision; published/scheduled events say which revision went out. */
  revision: number;
  content: CommunicationContent;
  /** Who drafted it (null until drafted); an agency author limits what agency may do later. */
  author: Actor | null;
  publishAt?: string;
  expiresAt?: string;
  /** When it went out (the published event's occurredAt): a next-brief item waits for the stores' next opening after it. */
  publishedAt?: string;
  /** Approved by the act of publishing an editor's own draft, not by a separate review. */
  selfApproved: boolean;
  rejectionReason?: string;
  /** The `dueAt` the stores were last reminded of (a revision to another due time reminds again). */
  dueReachedAt?: string;
  /** A task's evidence sent back, per store: the latest reason and how many times (absent: never). */
  evidenceRejections?: Record<string, { reason: string; rejection: number }>;
}

/** Placeholder content of a communication that has not been drafted yet. */
export const NO_CONTENT: CommunicationContent = {
  kind: 'notice',
  title: '',
  body: '',
  priority: 'normal',
  audience: {},
};

export function initialCommunicationState(id: string): CommunicationState {
  return { exists: false, id, status: 'none', revision: 0, content: NO_CONTENT, author: null, selfApproved: false };
}
