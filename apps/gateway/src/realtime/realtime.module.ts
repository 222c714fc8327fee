import { Module } from '@nestjs/common';
import { SESSION_CHECK } from '@lastmeter/auth';
import { ReadModels } from '../read/read-models.service';
import { GatewaySessionCheck } from '../read/session-check';
import { ConsoleGateway } from './console.gateway';
import { FeedEpoch } from './feed-epoch';
import { FeedRelay } from './feed-relay';
import { GatewayIdentity } from './gateway-identity';
import { NotificationHub } from './notification-hub';
import { StoreActivityWriter } from './store-activity-writer';
import { TerminalGateway } from './terminal.gateway';

/** Socket.IO fan-out to store terminals and facts from them back into Kafka. */
@Module({
  providers: [
    ReadModels,
    NotificationHub,
    FeedEpoch,
    FeedRelay,
    GatewayIdentity,
    StoreActivityWriter,
    TerminalGateway,
    ConsoleGateway,
    { provide: SESSION_CHECK, useClass: GatewaySessionCheck },
  ],
  exports: [ReadModels, SESSION_CHECK],
})
export class RealtimeModule {}
