export * from './terminal-client';
// The protocol types the client's API speaks in (from libs/contracts), so that a consumer
// of the published package can name them; type-only, nothing more at run time.
export type {
  Ack,
  ConnectRefusal,
  EarlierAck,
  EarlierPayload,
  FeedItem,
  FeedMessage,
  Hello,
  HiddenFeedItem,
  LiveSetChunk,
  QuizAnswerPayload,
  Reminder,
  SurveyAnswerPayload,
  ReceiptKind,
  ReceiptPayload,
  ReportFilePayload,
  TaskCompletePayload,
  TerminalAuth,
  TerminalClientEvents,
} from '@lastmeter/contracts';
