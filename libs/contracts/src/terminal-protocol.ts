import type { FeedItem, HiddenFeedItem } from './events/feed';
import type { ReachByRegion } from './read-api';

/**
 * The Socket.IO protocol between store terminals and gateways (docs/design.md section 6).
 * Server and client (libs/terminal-client) are both typed against this file.
 */
export const TERMINAL_NAMESPACE = '/terminal';

/**
 * `io(url + '/terminal', { auth })`: the device token, and where the terminal is in its feed.
 *
 * Every value may also be sent as a string (docs/terminal-protocol.md): native apps use
 * their platform's Socket.IO client, and socket.io-client-java (Android) takes `auth` as a
 * map of strings only. So `cursor: "12"` is `cursor: 12` and `snapshotChunks: "true"` is
 * `snapshotChunks: true`.
 */
export interface TerminalAuth {
  token: string;
  /**
   * Last feedSeq the terminal holds (0 or absent: from the start, i.e. the live set): a
   * non-negative integer up to Number.MAX_SAFE_INTEGER, or its decimal string as
   * `String(n)` writes it ("12"; not "", "-1", "1.5", "1e3", " 3", "012" or "0x10").
   * Anything else is refused with `bad-cursor`.
   */
  cursor?: number | string;
  /** Feed epoch the terminal last saw in `hello` (a string); absent: the cursor is taken as of this epoch. */
  epoch?: string;
  /**
   * The terminal takes the live set (`hello.snapshot`) as `feed.snapshot` messages of
   * many items each (LiveSetChunk) instead of one `feed` message per item: `true` or
   * `"true"`. Absent (a client from before) or anything else: one `feed` message per item.
   */
  snapshotChunks?: boolean | 'true' | 'false';
  /**
   * The terminal takes feed items as `feed.items` messages (FeedItems) whenever more than
   * one is due at once (a backlog after reconnecting, or a burst of publishes while its
   * socket was busy), instead of one `feed` message each: `true` or `"true"`. A single
   * item still comes as `feed`. Absent (a client from before) or anything else: one
   * `feed` message per item.
   */
  feedBatches?: boolean | 'true' | 'false';
}

/** Why a connection was refused: `connect_error` carries `{ message, data: { reason } }`. */
export const CONNECT_REFUSALS = [
  'token-missing',
  'token-invalid',
  'token-expired',
  'not-a-terminal',
  'terminal-revoked',
  'bad-cursor',
  /** The gateway cannot check the token now (Redis down, read models being re-projected): connect again in a few seconds. */
  'unavailable',
] as const;
export type ConnectRefusal = (typeof CONNECT_REFUSALS)[number];

/**
 * What a refused `/terminal` handshake answers (Socket.IO's CONNECT_ERROR packet; the
 * client's `connect_error` event gets an Error with these `message` and `data`).
 */
export interface TerminalConnectError {
  /** In words, for logs; act on `data.reason`. */
  message: string;
  data: { reason: ConnectRefusal };
}

/** First message after connecting. */
export interface Hello {
  epoch: string;
  /** The store's last feedSeq when the terminal connected. */
  headSeq: number;
  storeId: string;
  terminalId: string;
  /**
   * Present when the terminal connected without a cursor (0 or absent), or with one that
   * cannot be trusted (another epoch, beyond the head): the store's live set follows
   * instead of its whole history. `snapshot` is how many items with `snapshot: true`
   * come next (0 or more): the communications live in the store now (not retracted, not
   * expired), each as its latest entry, in feedSeq order. They come as `feed` messages,
   * one item each, or, for a terminal that connected with `snapshotChunks: true`, as
   * `feed.snapshot` messages (LiveSetChunk) of up to SNAPSHOT_CHUNK_ITEMS items each,
   * before any live `feed` message. Replace what the terminal shows with them. The terminal's cursor is `headSeq` from now on;
   * live items (feedSeq > headSeq) follow. Absent: `feed` resumes after the cursor.
   */
  snapshot?: number;
  /**
   * Days after which a notice without `expiresAt` leaves the terminal's active list
   * (NOTICE_MAX_AGE_DAYS, counted from its entry's `at`; see `isLive`). The live set
   * already leaves such notices out; a terminal that keeps items applies the same rule
   * as time passes. Absent (an older gateway): DEFAULT_NOTICE_MAX_AGE_DAYS.
   */
  noticeMaxAgeDays?: number;
  /**
   * A renewed device token, when the one the terminal connected with was past half of its
   * maximum age (DEVICE_TOKEN_MAX_AGE_DAYS). Keep it in place of the old one.
   */
  token?: string;
}

/** Default of NOTICE_MAX_AGE_DAYS and of a `hello` without `noticeMaxAgeDays`. */
export const DEFAULT_NOTICE_MAX_AGE_DAYS = 30;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Whether a communication, as its latest feed entry, is in a store's active list at
 * `now` (docs/design.md section 6): its entry is `published` or `revised`, it has not
 * expired, and, when it is a notice without `expiresAt`, its entry is less than
 * `noticeMaxAgeDays` old (counted from the entry's `at`: its publication, or its latest
 * revision, which sends it to the stores again). Without `noticeMaxAgeDays`, notices do
 * not age. Other kinds (tasks, training, campaigns) never age out.
 */
export function isLive(item: FeedItem, now: Date, noticeMaxAgeDays?: number): boolean {
  if (item.change !== 'published' && item.change !== 'revised') return false;
  const { expiresAt, kind } = item.communication;
  if (expiresAt) return Date.parse(expiresAt) > now.getTime();
  if (kind !== 'notice' || noticeMaxAgeDays === undefined) return true;
  return now.getTime() - Date.parse(item.at) < noticeMaxAgeDays * DAY_MS;
}

/**
 * Server → client `token`: a renewed device token for a terminal that stayed connected
 * past half of its token's age. Keep it in place of the old one.
 */
export interface TokenRenewed {
  token: string;
}

/**
 * Server → client `token-expired`, just before the server disconnects a socket whose
 * token expired (terminals: enroll again; consoles: log in again).
 */
export interface TokenExpired {
  reason: 'token-expired';
}

/** The ack error of a message refused by the per-terminal rate limit: wait, then resend. */
export const RATE_LIMITED = 'rate-limited';

/**
 * The ack error of a fact the gateway could not take: it holds as many facts waiting for
 * Kafka as it buffers (backpressure). Nothing was recorded; resend shortly.
 */
export const WRITER_BUSY = 'busy: too many facts waiting for the event log; nothing was recorded, resend shortly';

/**
 * The ack error of a fact Kafka did not confirm within the gateway's deadline (10 s). It
 * may still be recorded: resend it; the resend answers `duplicate` once it is.
 */
export const NOT_CONFIRMED = 'not confirmed by the event log in time; resend (a fact is recorded once)';

/** The ack error of a fact the gateway could not write (Kafka or Redis failed): nothing was recorded; resend. */
export const NOT_RECORDED = 'not recorded, the event log is unreachable; retry';

/**
 * The ack error of every client → server message from a screen (a device token of role
 * `screen`, issue 22): a break-room screen only reads. Not retryable.
 */
export const SCREEN_READ_ONLY = 'a screen only reads: it sends nothing to the gateway';

/**
 * The ack error of a fact the gateway could not check against the store's feed because
 * its read models are unavailable for a moment (Redis failing over, or re-projected after
 * losing data, or behind the cursor the terminal holds). Nothing was recorded; resend shortly.
 */
export const READ_MODELS_UNAVAILABLE =
  'not checked: the read models are unavailable for a moment (Redis failing over or being rebuilt); resend shortly';

/**
 * Whether an ack error says "send the same fact again later" (nothing is wrong with the
 * fact itself): rate-limited, busy, not confirmed, not recorded, read models unavailable,
 * or the same fact being recorded by another request at that moment.
 */
export function isRetryable(error: { message: string } | undefined): boolean {
  const message = error?.message ?? '';
  return isSaturated(message) || message.includes('is being recorded by another request');
}

/** A retryable error that says the server side is saturated or recovering: back off by seconds, not milliseconds. */
export function isSaturated(message: string | undefined): boolean {
  return (
    message === RATE_LIMITED ||
    message === WRITER_BUSY ||
    message === NOT_CONFIRMED ||
    message === NOT_RECORDED ||
    message === READ_MODELS_UNAVAILABLE
  );
}

/**
 * Server → client `feed`: the next item; `reset` on the first item after an epoch change.
 * `snapshot: true` marks an item of the live set announced by `hello.snapshot`: its
 * feedSeq is at most `hello.headSeq`, and it does not move the cursor (which is already
 * `hello.headSeq`). A client that ignores the flag still shows the live set.
 */
export type FeedMessage = (FeedItem | HiddenFeedItem) & { reset?: true; snapshot?: true };

/** Most items in one `feed.snapshot` message. */
export const SNAPSHOT_CHUNK_ITEMS = 500;

/**
 * Server → client `feed.snapshot`, to a terminal that connected with `snapshotChunks:
 * true`: the next items of the live set announced by `hello.snapshot`, in feedSeq order,
 * each exactly what its `feed` message would have been (flagged `snapshot`, the first one
 * `reset` after an epoch change). The chunks of one live set together hold
 * `hello.snapshot` items; an empty live set sends none.
 */
export interface LiveSetChunk {
  items: FeedMessage[];
}

/** Most items in one `feed.items` message (the gateway reads a store's feed in pages of this size). */
export const FEED_ITEMS_MAX = 200;

/**
 * Server → client `feed.items`, to a terminal that connected with `feedBatches: true`:
 * two or more consecutive items of its feed, in feedSeq order, each exactly what its
 * `feed` message would have been (`reset` on the first item after an epoch change). Take
 * them one after the other as `feed` messages; the cursor is the last one's feedSeq.
 */
export interface FeedItems {
  items: FeedMessage[];
}

/** Default and largest page of `feed.earlier`. */
export const EARLIER_DEFAULT_LIMIT = 50;
export const EARLIER_MAX_LIMIT = 200;

/**
 * Client → server `feed.earlier { before, limit? }`: older entries of the store's feed,
 * for "earlier items" (a terminal that started from the live set never received them).
 * `before` is a feedSeq (the smallest the terminal knows, or `hello.headSeq + 1`).
 */
export interface EarlierPayload {
  /** Entries with feedSeq < before; a positive integer. */
  before: number;
  /** 1 to EARLIER_MAX_LIMIT (default EARLIER_DEFAULT_LIMIT). */
  limit?: number;
}

/**
 * The ack of `feed.earlier`: up to `limit` entries with feedSeq < before, newest first
 * (role-restricted ones as `{ feedSeq, hidden: true }`, as in `feed`). `next` is the
 * `before` of the following page, absent when there is none. These are history: they
 * never move the cursor, and receipts for them are not expected.
 */
export type EarlierAck =
  | { ok: true; items: Array<FeedItem | HiddenFeedItem>; next?: number; error?: undefined }
  | { ok: false; items?: undefined; error: NonNullable<Ack['error']> };

/**
 * Server → client `slow-consumer`, just before the server disconnects a terminal that
 * stopped reading (its socket's buffer stayed full): `cursor` is the last feedSeq sent to
 * it. It resumes from its own cursor when it connects again.
 */
export interface SlowConsumer {
  cursor: number;
}

/** Server → client `revoked`, just before the server disconnects a revoked terminal. */
export interface Revoked {
  terminalId: string;
}

export const RECEIPT_KINDS = ['delivered', 'read', 'acknowledged'] as const;
export type ReceiptKind = (typeof RECEIPT_KINDS)[number];

export interface ReceiptPayload {
  communicationId: string;
  kind: ReceiptKind;
  revision: number;
  /**
   * A staff member signed in on this tablet (issue 21): the `token` of their
   * `POST /v1/stores/:storeId/staff/:id/sign-in`. The fact is then theirs: recorded with
   * their `staffId`, once per person (two people acknowledging on one tablet are two facts).
   */
  staff?: string;
}

export interface TaskCompletePayload {
  communicationId: string;
  revision: number;
  note?: string;
  /** The evidence photo, uploaded first with `POST /v1/media` (an image of this store). */
  photoMediaId?: string;
  /** A link to a photo kept elsewhere: accepted for clients written before media. */
  photoUrl?: string;
  /** 0 (default) the first time; after head office rejected the evidence, the item's `evidenceRejected.rejection`. */
  attempt?: number;
  /** The signed-in staff member's session, as in ReceiptPayload. */
  staff?: string;
}

export interface QuizAnswerPayload {
  communicationId: string;
  revision: number;
  /** One option index per question, in order. */
  answers: number[];
  /** The signed-in staff member's session, as in ReceiptPayload. */
  staff?: string;
}

/**
 * `survey.answer` (issue 21): a signed-in person's answers to a pulse survey, one per
 * question in order (a number on a scale, an option's index, a text of up to 500
 * characters). Once per person: a second answer is acked `duplicate`. Recorded without
 * the person or the terminal (`survey.answered`); the ack comes once the answer's batch
 * is in Kafka (up to SURVEY_BATCH_MS).
 */
export interface SurveyAnswerPayload {
  communicationId: string;
  revision: number;
  answers: Array<number | string>;
  /** Required: the session of the person answering. */
  staff: string;
}

export interface ReportFilePayload {
  /** Client-chosen (uuid) so a retried report is filed once. */
  reportId?: string;
  title: string;
  body: string;
  /** Up to MAX_REPORT_ATTACHMENTS media of this store, uploaded first with `POST /v1/media`. */
  attachments?: Array<{ mediaId: string }>;
}

/** Most attachments on one field report. */
export const MAX_REPORT_ATTACHMENTS = 10;

/** Most receipts in one `receipts` message. */
export const MAX_RECEIPTS_PER_MESSAGE = 500;

/** Largest `receipts` message, as JSON (500 receipts take under 50 KiB). */
export const MAX_RECEIPTS_BYTES = 64 * 1024;

/**
 * Client → server `receipts`: many receipts in one message (a tablet's backlog). Each item
 * is one fact, validated, authorised, rate-limited and recorded on its own, exactly as a
 * `receipt` message with that payload would be.
 */
export interface ReceiptsPayload {
  /** 1 to MAX_RECEIPTS_PER_MESSAGE receipts. */
  items: ReceiptPayload[];
}

/**
 * The ack of `receipts`, sent once every item has its answer (the recorded ones are in
 * Kafka):
 *
 * - `{ ok: true, results }`: the message was taken; `results[i]` is the Ack of `items[i]`,
 *   exactly what `receipt` would have answered for it (`{ ok: true }`, `{ ok: true,
 *   duplicate: true }` or `{ ok: false, error }`). `ok: true` does not mean that every item
 *   was recorded: read each result. Items beyond the terminal's remaining message budget
 *   are answered `rate-limited` (the first ones in order get the tokens); resend those.
 * - `{ ok: false, error }`: refused as a whole, nothing written: not a JSON object,
 *   unknown fields, `items` not an array of 1 to MAX_RECEIPTS_PER_MESSAGE, over
 *   MAX_RECEIPTS_BYTES, or `rate-limited` when not a single token was left.
 */
export type ReceiptsAck =
  | { ok: true; results: Ack[]; error?: undefined }
  | { ok: false; results?: undefined; error: NonNullable<Ack['error']> };

/** The ack of every client → server message; sent only once Kafka has the fact. */
export interface Ack {
  ok: boolean;
  /** The same fact was already recorded (a retry): nothing new was written. */
  duplicate?: boolean;
  error?: { message: string; fields?: Record<string, string[]> };
}

/**
 * `reminder` (server → client, issue 21): a communication of the store is due and these
 * people of the store have not acknowledged it. Sent once, at the due time, to the tablets
 * connected then (offline ones still see the item and "you have N to acknowledge").
 */
export interface Reminder {
  communicationId: string;
  title: string;
  dueAt: string;
  people: Array<{ staffId: string; name: string }>;
}

/** Client → server events of one fact each, and their payloads (each acked with an Ack). */
export interface TerminalClientEvents {
  receipt: ReceiptPayload;
  'task.complete': TaskCompletePayload;
  'quiz.answer': QuizAnswerPayload;
  'report.file': ReportFilePayload;
  'survey.answer': SurveyAnswerPayload;
}

/** Client → server events of many facts, their payloads and acks. */
export interface TerminalBatchEvents {
  receipts: { payload: ReceiptsPayload; ack: ReceiptsAck };
}

/** Client → server requests that read (nothing is written), their payloads and acks. */
export interface TerminalReadEvents {
  'feed.earlier': { payload: EarlierPayload; ack: EarlierAck };
}

/** `/console`: live boards for head office (hq-admin, hq-editor, analyst user tokens). */
export const CONSOLE_NAMESPACE = '/console';
/** At most this many reach updates per communication per second reach a console. */
export const CONSOLE_REACH_UPDATES_PER_SECOND = 4;

/** `io(url + '/console', { auth })`: a user token (`POST /v1/auth/login`) of hq-admin, hq-editor or analyst. */
export interface ConsoleAuth {
  token: string;
}

/**
 * Why a `/console` connection was refused: `token-missing`, `token-invalid` and
 * `token-expired` as on `/terminal`; `forbidden`, a role that may not read the boards (a
 * device token, a store manager, an agency); `session-ended`, the user was disabled, or
 * changed password or role, after the token was issued (log in again); `unavailable`, the
 * gateway could not check the session for a moment (Redis failing over): connect again.
 */
export const CONSOLE_REFUSALS = [
  'token-missing',
  'token-invalid',
  'token-expired',
  'forbidden',
  'session-ended',
  'unavailable',
] as const;
export type ConsoleRefusal = (typeof CONSOLE_REFUSALS)[number];

/** What a refused `/console` handshake answers (`connect_error`), as TerminalConnectError. */
export interface ConsoleConnectError {
  message: string;
  data: { reason: ConsoleRefusal };
}

/** Client → server `watch` and `unwatch`: one communication's live reach. */
export interface ConsoleWatchPayload {
  /** A communication id (a UUID). */
  communicationId: string;
}

/**
 * The ack of `watch`: the communication's reach now (overall and by region, never per
 * store), after which `reach` messages follow as it moves; or why not (`invalid message`
 * with `fields`, or `no such communication`).
 */
export type ConsoleWatchAck =
  | { ok: true; reach: ReachByRegion; error?: undefined }
  | { ok: false; reach?: undefined; error: NonNullable<Ack['error']> };

/** The ack of `unwatch`: no more `reach` for that communication. */
export interface ConsoleUnwatchAck {
  ok: true;
}
