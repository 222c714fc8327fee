import type { Audience, CommunicationStatus, Delivery, QuizQuestion, SurveyQuestion } from './events/communication';
import type { StoreRegistered, TerminalKind } from './events/directory';
import type { FeedItem, HiddenFeedItem } from './events/feed';
import type { StoreActivityEventData } from './events/store-activity';
import type { Actor, StoreRole, UserRole } from './roles';
import type { CommunicationAttachment, MediaRecord, MediaRef, MediaUploaded } from './media';
import type { ImportSummary } from './directory-import';
import type { Translations } from './translations';

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
  /** 429 and 503: seconds to wait, as in the Retry-After header. */
  retryAfter?: number;
}

/** 202 of a command whose decision did not come within the wait: it will be decided. */
export interface CommandPending {
  statusCode: 202;
  /** The aggregate the command is about. */
  id: string;
  commandId: string;
  status: 'pending';
  message: string;
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

/** `POST /v1/auth/password`: the change, and a new token (every older one is refused). */
export interface PasswordChanged extends CommandResult {
  token: string;
}

export interface TerminalRegistration {
  terminalId: string;
  enrollmentCode: string;
  expiresAt: string;
  /** The terminal's version after its registration. */
  version: number;
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
  /** `next-brief`: it reaches each store in the daily brief at the store's next opening (absent: at once). */
  delivery?: Delivery;
  audience: Audience;
  dueAt?: string;
  evidence?: string;
  /** A task head office only suggests (absent: mandated; issue 21). */
  mandate?: 'suggested';
  questions?: QuizQuestion[];
  /** A survey's questions (issue 21). */
  survey?: { questions: SurveyQuestion[] };
  attachments?: CommunicationAttachment[];
  cover?: MediaRef;
  /** The default language (absent: en). */
  language?: string;
  /** By language tag; `stale: true` marks one a revision of the default text left behind. */
  translations?: Translations;
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

/** `GET /v1/communications`. */
export interface CommunicationPage {
  items: CommunicationView[];
  next?: string;
}

export interface RegionView {
  id: string;
  code: string;
  name: string;
}

export interface StoreView extends StoreRegistered {
  id: string;
}

/** `GET /v1/stores`: a page by code (`next` = the cursor of the following page). */
export interface StorePage {
  items: StoreView[];
  next?: string;
}

/** `GET /v1/regions`. */
export interface RegionList {
  items: RegionView[];
}

/** `GET /v1/audience/count`. */
export interface AudienceCount {
  stores: number;
  terminals: number;
  /** With `locales=true`: stores per locale (canonical tag; `unknown` for a store without one). */
  locales?: Record<string, number>;
}

export interface TerminalView {
  id: string;
  status: 'registered' | 'enrolled' | 'revoked';
  storeId: string;
  name: string;
  roles: StoreRole[];
  enrollmentExpiresAt: string;
  /** Absent: a tablet. */
  kind?: TerminalKind;
}

/** `GET /v1/terminals`. */
export interface TerminalPage {
  items: TerminalView[];
  next?: string;
}

/** `GET /v1/users` (hq-admin): people, never their credentials. */
export interface UserView {
  id: string;
  username: string;
  /** null for a user whose creation was refused after its id was taken (never listed in practice). */
  role: UserRole | null;
  storeId?: string;
  disabled: boolean;
}

/** `GET /v1/stores/:storeId/staff`: a person of the store's roster (issue 21). */
export interface StaffView {
  id: string;
  storeId: string;
  /** Their name, or "Erased person" once their personal data was erased. */
  name: string;
  roles: StoreRole[];
  /** `removed`: left the store (history kept); `erased`: personal data deleted. */
  status: 'active' | 'removed' | 'erased';
  /** For `If-Match`. */
  version: number;
  /** Locked out after STAFF_PIN_MAX_FAILURES wrong PINs in a row, until a manager unlocks them. */
  locked: boolean;
}

/**
 * `POST /v1/stores/:storeId/staff/:id/sign-in` (a tablet of the store): the person's
 * session on that tablet. `token` goes with their receipts, tasks and quiz answers
 * (`staff` in each message), which are then recorded as them.
 */
export interface StaffSession {
  token: string;
  staffId: string;
  name: string;
  roles: StoreRole[];
  expiresAt: string;
}

/**
 * `GET /v1/stores/:storeId/staff/:id/feed` (a tablet of the store with the person's session
 * in `X-Staff-Session`, or the store's manager, or an hq-admin): the store's live items
 * this person may see (unrestricted, or restricted to one of their roles, with content),
 * and which of them they acknowledged (or completed, or answered). The tablet shows "you
 * have N to acknowledge" from it, and the content of items for their roles.
 */
export interface StaffFeed {
  staffId: string;
  items: FeedItem[];
  /** Communication ids of `items` this person acknowledged. */
  acknowledged: string[];
}

/** Wrong PINs in a row before a person is locked out until a manager unlocks them. */
export const STAFF_PIN_MAX_FAILURES = 5;

/** `POST /v1/stores/:storeId/staff/:id/unlock`. */
export interface StaffUnlocked {
  staffId: string;
  unlocked: true;
}

/** One question's results in a group. */
export type SurveyQuestionResult =
  | { type: 'scale'; prompt: string; counts: Record<string, number>; mean: number }
  | { type: 'choice'; prompt: string; options: string[]; counts: number[] }
  | { type: 'text'; prompt: string; texts: string[] };

/**
 * A group's results (issue 21): shown only with SURVEY_THRESHOLD respondents or more;
 * below, `belowThreshold: true` and no number at all (not even how many answered).
 */
export type SurveyGroupResult =
  { respondents: number; belowThreshold: false; questions: SurveyQuestionResult[] } | { belowThreshold: true };

/** `GET /v1/communications/:id/survey?regionId=`: overall, by region, and by store with a region. */
export interface SurveyResults {
  communicationId: string;
  threshold: number;
  overall: SurveyGroupResult;
  byRegion: Array<{ regionId: string } & SurveyGroupResult>;
  byStore?: Array<{ storeId: string } & SurveyGroupResult>;
}

/** People a communication reaches (issue 21): the denominator, and how many saw and acknowledged it. */
export interface ReachCounts {
  /** Active staff of the targeted stores in the audience's roles (all of them when it names none). */
  persons: number;
  seen: number;
  acknowledged: number;
  /** Past `dueAt` and not acknowledged (0 without a due time). */
  overdue: number;
}

/** One person of a store (`?storeId=`). */
export interface PersonReachRow {
  staffId: string;
  storeId: string;
  /** "Erased person" once erased (they are counted all the same while active). */
  name: string;
  roles: StoreRole[];
  seenAt?: string;
  acknowledgedAt?: string;
  overdue: boolean;
}

/**
 * `GET /v1/communications/:id/reach/people?regionId=&storeId=`: seen-by and acknowledged-by
 * per person, at every level. `byStore` with a region or a store, `people` with a store.
 */
export interface PeopleReach {
  communicationId: string;
  /** The audience's roles (absent: every role). */
  roles?: StoreRole[];
  dueAt?: string;
  overall: ReachCounts;
  byRegion: Array<{ regionId: string } & ReachCounts>;
  byStore?: Array<{ storeId: string } & ReachCounts>;
  people?: PersonReachRow[];
}

/** `GET /v1/stores/:storeId/staff`: by name; removed and erased people only with `all=true`. */
export interface StaffList {
  items: StaffView[];
}

/** `GET /v1/users`. */
export interface UserList {
  items: UserView[];
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

/** `GET /v1/stores/:id/feed`: a page after a cursor, or (with `asOf`) the feed at an instant. */
export type FeedAnswer = FeedPage | FeedAsOf;

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

/** A store of one region's reach (`GET /v1/communications/:id/reach?regionId=`), with its directory row. */
export interface RegionStoreReach extends StoreReach {
  code?: string;
  name?: string;
}

/** `GET /v1/communications/:id/reach?regionId=`: the stores of one region, by code, a page at a time. */
export interface RegionReach {
  communicationId: string;
  /** `unknown` for stores not in the directory. */
  regionId: string;
  items: RegionStoreReach[];
  next?: string;
}

/** `GET /v1/communications/:id/reach?by=region`: the report without its per-store rows. */
export type ReachByRegion = Omit<ReachReport, 'byStore'>;

/** One store locale's reach: how many of its stores reached each step, and the language they are shown. */
export type LanguageReach = { locale: string; shown: string } & Record<'targeted' | ReachStep, number>;

/** `GET /v1/communications/:id/reach?by=language`: by region and by store locale (issue 22). */
export type ReachByLanguage = ReachByRegion & { byLanguage: LanguageReach[] };

/** `GET /v1/communications/:id/reach`: by store (default), by region or language, or one region's stores. */
export type ReachAnswer = ReachReport | ReachByRegion | ReachByLanguage | RegionReach;

/** `GET /v1/communications/:id/reach/timeline`: cumulative counts at each first report. */
export interface ReachTimeline {
  communicationId: string;
  publishedAt?: string;
  steps: Record<ReachStep, Array<{ at: string; terminals: number; stores: number }>>;
}

/** What a store's completion of a task showed: the latest `task.completed` of the store. */
export interface TaskEvidence {
  terminalId: string;
  /** The staff member who completed it, signed in on the tablet (issue 21). */
  staffId?: string;
  revision: number;
  completedAt: string;
  note?: string;
  /** The note was written by a person whose personal data was erased: it cannot be read any more. */
  noteErased?: true;
  photoUrl?: string;
  /** The photo (`GET /v1/media/:mediaId?variant=thumbnail` for the board). */
  photo?: MediaRef;
  /** 0 the first time; n after the n-th rejection. */
  attempt?: number;
  /** Head office sent this evidence back: the task is open again for the store. */
  rejected?: { reason: string; rejection: number; at: string };
}

/** A store manager set a suggested task aside (issue 21). */
export interface TaskDismissal {
  reason: string;
  at: string;
  by: { userId: string } | { staffId: string; terminalId: string };
}

export interface ComplianceTask {
  communicationId: string;
  title: string;
  dueAt?: string;
  /** Head office mandates it, or only suggests it (the store manager may dismiss or assign it). */
  mandate: 'mandated' | 'suggested';
  completed: boolean;
  overdue: boolean;
  /** A suggested task the store manager dismissed: neither open nor overdue. */
  dismissed?: TaskDismissal;
  /** A suggested task the store manager assigned to these staff members. */
  assignedTo?: string[];
  /** With `completed`: the evidence. */
  evidence?: TaskEvidence;
}

/** `GET /v1/communications/:id/evidence`: one task's evidence, a page of stores at a time. */
export interface EvidencePage {
  communicationId: string;
  items: Array<TaskEvidence & { storeId: string }>;
  next?: string;
}

/** `GET /v1/compliance`: the board at `at`, a page of stores at a time. */
export interface ComplianceBoard {
  at: string;
  items: StoreCompliance[];
  next?: string;
}

export interface ComplianceCounts {
  open: number;
  overdue: number;
  completed: number;
}

export interface StoreCompliance extends ComplianceCounts {
  storeId: string;
  /** The tasks head office mandates, and those it only suggests (issue 21). */
  mandated: ComplianceCounts;
  suggested: ComplianceCounts & { dismissed: number };
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

/** `GET /v1/presence`. */
export interface PresenceBoard {
  items: StorePresence[];
  next?: string;
}

export type ReportView = StoreActivityEventData['report.filed'] & { filedAt: string };

/** `GET /v1/reports`: the field reports inbox, newest first. */
export interface ReportPage {
  items: ReportView[];
  next?: string;
}

/** `GET /v1/media/:id/link`: a signed link to the bytes, for `<img src>` and PDF viewers. */
export interface MediaLink {
  url: string;
  expiresAt: string;
}

/** `POST /v1/media/sweep`: what the retention sweep deleted (or would, with `dryRun`). */
export interface MediaSweepReport {
  records: number;
  kept: number;
  /** Media deleted (their records), by why. */
  deleted: { unreferenced: number; retention: number };
  /** Blobs deleted (no record left names them), and their bytes. */
  blobs: number;
  bytes: number;
  dryRun: boolean;
}

/**
 * Every JSON body a 2xx of the HTTP API answers with, by name. The OpenAPI documents'
 * response schemas are generated from these types (tools/contract-schemas.ts; ADR 0007),
 * and a route declares its answer with `@Answer('<name>')`, which only compiles on a
 * handler that returns that type: the documents cannot drift from the code.
 */
export interface HttpAnswers {
  AudienceCount: AudienceCount;
  CommandPending: CommandPending;
  CommandResult: CommandResult;
  CommunicationPage: CommunicationPage;
  CommunicationView: CommunicationView;
  ComplianceBoard: ComplianceBoard;
  EnrollResult: EnrollResult;
  EvidencePage: EvidencePage;
  FeedAnswer: FeedAnswer;
  ImportSummary: ImportSummary;
  LoginResult: LoginResult;
  MediaLink: MediaLink;
  MediaRecord: MediaRecord;
  MediaSweepReport: MediaSweepReport;
  MediaUploaded: MediaUploaded;
  PasswordChanged: PasswordChanged;
  PresenceBoard: PresenceBoard;
  PeopleReach: PeopleReach;
  ReachAnswer: ReachAnswer;
  ReachTimeline: ReachTimeline;
  RegionList: RegionList;
  ReportPage: ReportPage;
  StaffFeed: StaffFeed;
  SurveyResults: SurveyResults;
  StaffList: StaffList;
  StaffSession: StaffSession;
  StaffUnlocked: StaffUnlocked;
  StorePage: StorePage;
  StoreView: StoreView;
  TerminalPage: TerminalPage;
  TerminalRegistration: TerminalRegistration;
  UiConfig: UiConfig;
  UserList: UserList;
}

export type HttpAnswerName = keyof HttpAnswers;
