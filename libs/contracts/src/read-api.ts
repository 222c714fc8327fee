import type { Audience, CommunicationStatus, QuizQuestion } from './events/communication';
import type { StoreRegistered } from './events/directory';
import type { FeedItem, HiddenFeedItem } from './events/feed';
import type { StoreActivityEventData } from './events/store-activity';
import type { Actor, StoreRole, UserRole } from './roles';
import type { CommunicationAttachment, MediaRef } from './media';

/**
 * The JSON bodies of the HTTP API (docs/design.md section 7) as clients see them. The gateway's
 * read models are typed against these, and so are the web UIs.
 */

/** Every non-2xx answer. */
export interface ApiErrorBody {
  statusCode: number;
  error: string;
  message: string;
  fields?: Record<string, string[]>;
  /** 409 on If-Match: the version the aggregate is at. */
  currentVersion?: number;
}

/** 200/201 of a command; 202 carries `status: 'pending'` instead of a version. */
export interface CommandResult {
  id: string;
  version: number;
  eventIds: string[];
}

export interface LoginResult {
  token: string;
  role: UserRole;
  storeId?: string;
}

export interface TerminalRegistration {
  terminalId: string;
  enrollmentCode: string;
  expiresAt: string;
}

export interface EnrollResult {
  token: string;
  terminalId: string;
  storeId: string;
}

/** `GET /v1/ui/config`: what a web UI needs before anyone logs in. */
export interface UiConfig {
  /** Base URL of the write API; null = the page's host on port 3001. */
  commandUrl: string | null;
}

export interface Page<T> {
  items: T[];
  next?: string;
}

/** A communication in the catalogue (`GET /v1/communications[/:id]`). */
export interface CommunicationView {
  id: string;
  version: number;
  status: CommunicationStatus;
  revision: number;
  kind: string;
  title: string;
  body: string;
  priority: string;
  audience: Audience;
  dueAt?: string;
  evidence?: string;
  questions?: QuizQuestion[];
  attachments?: CommunicationAttachment[];
  cover?: MediaRef;
  author: Actor | null;
  createdAt: string;
  updatedAt: string;
  publishAt?: string;
  expiresAt?: string;
  publishedAt?: string;
  retractedAt?: string;
  expiredAt?: string;
  rejectionReason?: string;
}

export interface RegionView {
  id: string;
  code: string;
  name: string;
}

export interface StoreView extends StoreRegistered {
  id: string;
}

export interface TerminalView {
  id: string;
  status: 'registered' | 'enrolled' | 'revoked';
  storeId: string;
  name: string;
  roles: StoreRole[];
  enrollmentExpiresAt: string;
}

/** `GET /v1/users` (hq-admin): people, never their credentials. */
export interface UserView {
  id: string;
  username: string;
  role: UserRole;
  storeId?: string;
  disabled: boolean;
}

/** `GET /v1/stores/:id/feed?after=&limit=` */
export interface FeedPage {
  storeId: string;
  headSeq: number;
  items: Array<FeedItem | HiddenFeedItem>;
  next?: string;
}

/** `GET /v1/stores/:id/feed?asOf=`: what was live for the store at that instant. */
export interface FeedAsOf {
  storeId: string;
  asOf: string;
  items: Array<FeedItem | HiddenFeedItem>;
}

export const REACH_STEPS = ['delivered', 'read', 'acknowledged', 'completed'] as const;
export type ReachStep = (typeof REACH_STEPS)[number];

export interface StepCounts {
  /** Stores where at least one terminal reported the step. */
  stores: number;
  /** Terminals that reported it. */
  terminals: number;
}

export interface StoreReach {
  storeId: string;
  regionId?: string;
  targeted: boolean;
  delivered: number;
  read: number;
  acknowledged: number;
  completed: number;
  quizAnswers: number;
  quizScore?: number;
}

/** `GET /v1/communications/:id/reach`, and the console's live `reach` message. */
export type ReachReport = {
  communicationId: string;
  revision: number;
  status: CommunicationStatus;
  /** Stores targeted. */
  targeted: number;
  quiz: { answers: number; averageScore: number | null };
  byRegion: Array<{ regionId: string } & Record<'targeted' | ReachStep, number>>;
  byStore: StoreReach[];
} & Record<ReachStep, StepCounts>;

/** `GET /v1/communications/:id/reach/timeline`: cumulative counts at each first report. */
export interface ReachTimeline {
  communicationId: string;
  publishedAt?: string;
  steps: Record<ReachStep, Array<{ at: string; terminals: number; stores: number }>>;
}

/** What a store's completion of a task showed: the latest `task.completed` of the store. */
export interface TaskEvidence {
  terminalId: string;
  revision: number;
  completedAt: string;
  note?: string;
  photoUrl?: string;
  /** The photo (`GET /v1/media/:mediaId?variant=thumbnail` for the board). */
  photo?: MediaRef;
  /** 0 the first time; n after the n-th rejection. */
  attempt?: number;
  /** Head office sent this evidence back: the task is open again for the store. */
  rejected?: { reason: string; rejection: number; at: string };
}

export interface ComplianceTask {
  communicationId: string;
  title: string;
  dueAt?: string;
  completed: boolean;
  overdue: boolean;
  /** With `completed`: the evidence. */
  evidence?: TaskEvidence;
}

/** `GET /v1/communications/:id/evidence`: one task's evidence, a page of stores at a time. */
export interface EvidencePage {
  communicationId: string;
  items: Array<TaskEvidence & { storeId: string }>;
  next?: string;
}

export interface StoreCompliance {
  storeId: string;
  open: number;
  overdue: number;
  completed: number;
  tasks: ComplianceTask[];
}

export interface OnlineTerminal {
  terminalId: string;
  gatewayId: string;
  since: string;
}

export interface StorePresence {
  storeId: string;
  online: OnlineTerminal[];
}

export type ReportView = StoreActivityEventData['report.filed'] & { filedAt: string };
