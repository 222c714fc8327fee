import type { FeedItem, HiddenFeedItem } from './events/feed';

/**
 * The Socket.IO protocol between store terminals and gateways (docs/design.md section 6).
 * Server and client (libs/terminal-client) are both typed against this file.
 */
export const TERMINAL_NAMESPACE = '/terminal';

/** `io(url + '/terminal', { auth })`: the device token, and where the terminal is in its feed. */
export interface TerminalAuth {
  token: string;
  /** Last feedSeq the terminal holds (0 or absent: from the start). */
  cursor?: number;
  /** Feed epoch the terminal last saw in `hello`. */
  epoch?: string;
}

/** Why a connection was refused: `connect_error` carries `{ message, data: { reason } }`. */
export const CONNECT_REFUSALS = [
  'token-missing',
  'token-invalid',
  'token-expired',
  'not-a-terminal',
  'terminal-revoked',
  'bad-cursor',
] as const;
export type ConnectRefusal = (typeof CONNECT_REFUSALS)[number];

/** First message after connecting. */
export interface Hello {
  epoch: string;
  /** The store's last feedSeq when the terminal connected. */
  headSeq: number;
  storeId: string;
  terminalId: string;
  /**
   * A renewed device token, when the one the terminal connected with was past half of its
   * maximum age (DEVICE_TOKEN_MAX_AGE_DAYS). Keep it in place of the old one.
   */
  token?: string;
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

/** Server → client `feed`: the next item; `reset` on the first item after an epoch change. */
export type FeedMessage = (FeedItem | HiddenFeedItem) & { reset?: true };

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
}

export interface TaskCompletePayload {
  communicationId: string;
  revision: number;
  note?: string;
  photoUrl?: string;
}

export interface QuizAnswerPayload {
  communicationId: string;
  revision: number;
  /** One option index per question, in order. */
  answers: number[];
}

export interface ReportFilePayload {
  /** Client-chosen (uuid) so a retried report is filed once. */
  reportId?: string;
  title: string;
  body: string;
}

/** The ack of every client → server message; sent only once Kafka has the fact. */
export interface Ack {
  ok: boolean;
  /** The same fact was already recorded (a retry): nothing new was written. */
  duplicate?: boolean;
  error?: { message: string; fields?: Record<string, string[]> };
}

/** Client → server events and their payloads. */
export interface TerminalClientEvents {
  receipt: ReceiptPayload;
  'task.complete': TaskCompletePayload;
  'quiz.answer': QuizAnswerPayload;
  'report.file': ReportFilePayload;
}

/** `/console`: live boards for head office (hq-admin, hq-editor, analyst user tokens). */
export const CONSOLE_NAMESPACE = '/console';
/** At most this many reach updates per communication per second reach a console. */
export const CONSOLE_REACH_UPDATES_PER_SECOND = 4;
