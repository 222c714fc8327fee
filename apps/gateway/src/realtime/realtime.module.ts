import { Module } from '@nestjs/common';
import { MediaModule } from '../media/media.module';
import { SESSION_CHECK } from '@lastmeter/auth';
import { ReadModels } from '../read/read-models.service';
import { GatewaySessionCheck } from '../read/session-check';
import { ConsoleGateway } from './console.gateway';
import { FeedEpoch } from './feed-epoch';
import { FeedRelay } from './feed-relay';
import { GatewayMetrics } from './gateway-metrics';
import { HANDSHAKE_REFUSALS } from './handshake-refusals';
import { GatewayIdentity } from './gateway-identity';
import { NotificationHub } from './notification-hub';
import { StoreActivityWriter } from './store-activity-writer';
import { TerminalAuthentication } from './terminal/authentication';
import { FeedCheck } from './terminal/feed-check';
import { TerminalPresence } from './terminal/presence';
import { QuizAnswerHandler } from './terminal/quiz-answer.handler';
import { ReceiptHandler } from './terminal/receipt.handler';
import { StaffSessions } from './terminal/staff-sessions';
import { SurveyAnswerHandler } from './terminal/survey-answer.handler';
import { SurveyBatcher } from './survey-batcher';
import { Reminders } from './reminders';
import { EarlierHandler } from './terminal/earlier.handler';
import { ReceiptsHandler } from './terminal/receipts.handler';
import { ReportFileHandler } from './terminal/report-file.handler';
import { TerminalResume } from './terminal/resume';
import { StoreMedia } from './terminal/store-media';
import { TaskCompleteHandler } from './terminal/task-complete.handler';
import { TerminalGateway } from './terminal.gateway';
import { UnprojectedFeeds } from './unprojected-feeds';

/** Socket.IO fan-out to store terminals and facts from them back into Kafka. */
@Module({
  imports: [MediaModule],
  providers: [
    ReadModels,
    NotificationHub,
    UnprojectedFeeds,
    GatewayMetrics,
    HANDSHAKE_REFUSALS,
    FeedEpoch,
    FeedRelay,
    GatewayIdentity,
    StoreActivityWriter,
    // /terminal: the gateway routes to authentication, resume, presence and one handler per client event.
    TerminalAuthentication,
    TerminalResume,
    TerminalPresence,
    FeedCheck,
    StoreMedia,
    ReceiptHandler,
    StaffSessions,
    SurveyAnswerHandler,
    SurveyBatcher,
    Reminders,
    ReceiptsHandler,
    EarlierHandler,
    TaskCompleteHandler,
    QuizAnswerHandler,
    ReportFileHandler,
    TerminalGateway,
    ConsoleGateway,
    { provide: SESSION_CHECK, useClass: GatewaySessionCheck },
  ],
  exports: [ReadModels, UnprojectedFeeds, SESSION_CHECK],
})
export class RealtimeModule {}
