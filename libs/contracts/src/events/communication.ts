import type { CommunicationAttachment, MediaRef } from '../media';
import type { StoreRole } from '../roles';
import type { Translations } from '../translations';

export const COMMUNICATION_KINDS = ['campaign', 'notice', 'training', 'task', 'survey'] as const;
export type CommunicationKind = (typeof COMMUNICATION_KINDS)[number];
/**
 * `urgent` and `critical` interrupt the store tablets (banner, and sound where switched
 * on); outside a store's opening hours only `critical` does (quiet hours, issue 22).
 */
export const PRIORITIES = ['normal', 'urgent', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];
/** Every status a drafted communication can be in, in lifecycle order. */
export const COMMUNICATION_STATUSES = [
  'drafted',
  'submitted',
  'approved',
  'rejected',
  'scheduled',
  'published',
  'retracted',
  'expired',
] as const;
export type CommunicationStatus = (typeof COMMUNICATION_STATUSES)[number];

/**
 * When a normal item reaches the stores (issue 22): `now`, or bundled into each store's
 * daily brief at its next opening (docs/design.md section 5, "The daily brief"). Urgent
 * and critical items are always delivered at once.
 */
export const DELIVERIES = ['now', 'next-brief'] as const;
export type Delivery = (typeof DELIVERIES)[number];

/**
 * A task head office mandates (a store manager cannot dismiss or reassign it) or only
 * suggests (a store manager may dismiss it with a reason, or assign it to named staff).
 * Absent on a task: mandated (issue 21).
 */
export const TASK_MANDATES = ['mandated', 'suggested'] as const;
export type TaskMandate = (typeof TASK_MANDATES)[number];

export const EVIDENCE = ['none', 'note', 'photo'] as const;
export type Evidence = (typeof EVIDENCE)[number];

/** Who should see it; the parts combine as a union (any match targets the store). */
export interface Audience {
  all?: boolean;
  regionIds?: string[];
  storeIds?: string[];
  /** Restricts which terminals of a targeted store see the content. */
  roles?: StoreRole[];
  tags?: string[];
}

/**
 * A question of a pulse survey (issue 21): a scale (`min`..`max`, default 1..5), a choice
 * among `options`, or free text. Answers are anonymous: see `survey.answered`.
 */
export type SurveyQuestion =
  | { type: 'scale'; prompt: string; min?: number; max?: number }
  | { type: 'choice'; prompt: string; options: string[] }
  | { type: 'text'; prompt: string };

export const SURVEY_QUESTION_TYPES = ['scale', 'choice', 'text'] as const;

/** Results of a group (all, a region, a store) show only from this many respondents. */
export const SURVEY_THRESHOLD = 5;

export interface QuizQuestion {
  prompt: string;
  options: string[];
  /** Index into options; kept server-side, never sent to terminals. */
  answer: number;
}

export interface CommunicationContent {
  kind: CommunicationKind;
  title: string;
  body: string;
  priority: Priority;
  /** Absent: `now`. Only a normal item may wait for the brief. */
  delivery?: Delivery;
  audience: Audience;
  dueAt?: string;
  evidence?: Evidence;
  /** A task only: `suggested`, or absent (mandated). */
  mandate?: 'suggested';
  questions?: QuizQuestion[];
  /** A survey only: its questions (separate from a training's quiz `questions`). */
  survey?: { questions: SurveyQuestion[] };
  /** Images shown in the card, PDFs opened in a viewer (head office media, docs/media.md). */
  attachments?: CommunicationAttachment[];
  /** The picture on top of the card (an image). */
  cover?: MediaRef;
  /** The language of title, body and questions (a BCP 47 tag); absent: `en` (DEFAULT_LANGUAGE). */
  language?: string;
  /** The text in other languages, by store locale (`translationFor` picks a store's). */
  translations?: Translations;
}

/** schemaVersion 2 (v1 had `text` and a single-kind audience; see upcasters). */
export type CommunicationDrafted = CommunicationContent & { revision: 1 };

export interface CommunicationRevised {
  revision: number;
  /**
   * The fields that changed, with their new values. A field that became absent has its
   * "absent" value: `evidence: 'none'`, `questions: []`, `attachments: []`, `cover: null`,
   * `delivery: 'now'`, `language: 'en'`, `translations: {}`, `mandate: 'mandated'`.
   */
  changes: Omit<Partial<CommunicationContent>, 'cover' | 'mandate'> & {
    cover?: MediaRef | null;
    mandate?: TaskMandate;
  };
}

export type CommunicationSubmitted = Record<string, never>;
export interface CommunicationApproved {
  selfApproved: boolean;
}
export interface CommunicationRejected {
  reason: string;
}
export interface CommunicationScheduled {
  revision: number;
  publishAt: string;
  expiresAt?: string;
}
export interface CommunicationPublished {
  revision: number;
  expiresAt?: string;
}
export interface CommunicationRetracted {
  reason?: string;
}
export interface CommunicationExpired {
  expiresAt: string;
}
/**
 * Head office rejected a store's evidence of a task (issue 19): the task reopens for that
 * store. `rejection` counts the store's rejections of this task (1, 2, …); a retake is a
 * `task.completed` with `attempt` equal to it.
 */
export interface TaskEvidenceRejected {
  storeId: string;
  reason: string;
  rejection: number;
}

export interface CommunicationEventData {
  'communication.drafted': CommunicationDrafted;
  'communication.revised': CommunicationRevised;
  'communication.submitted': CommunicationSubmitted;
  'communication.approved': CommunicationApproved;
  'communication.rejected': CommunicationRejected;
  'communication.scheduled': CommunicationScheduled;
  'communication.published': CommunicationPublished;
  'communication.retracted': CommunicationRetracted;
  'communication.expired': CommunicationExpired;
  /**
   * The communication's `dueAt` came while it was live (issue 21): gateways remind the
   * stores' tablets of the people who have not acknowledged it. Once per due time.
   */
  'communication.due-reached': { dueAt: string; revision: number };
  /** An event of the communication aggregate, named after what it is about (the contract). */
  'task.evidence-rejected': TaskEvidenceRejected;
}
