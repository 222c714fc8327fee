import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@lastmeter/config';
import { AuthModule, SESSION_CHECK } from '@lastmeter/auth';
import { PlatformModule } from '@lastmeter/platform';
import { FeedLedger } from './feed/feed-ledger';
import { FeedSequencer } from './feed/feed-sequencer';
import { AuthController } from './auth/auth.controller';
import { CommandSessionCheck } from './auth/session-check';
import { ThrottlingModule } from './auth/throttling.module';
import { UsersController } from './auth/users.controller';
import { CommunicationsController } from './communications/communications.controller';
import { DirectoryController } from './directory/directory.controller';
import { ReportsController } from './directory/reports.controller';
import { AggregateStore } from './write/aggregate-store';
import { CommandBus } from './write/command-bus';
import { CredentialStore } from './write/credential-store';
import { DeciderService } from './write/decider.service';
import { DirectoryLookup } from './write/directory-lookup';
import { PartitionWriters } from './write/partition-writers';
import { EventTail } from './write/event-tail';
import { ReplyChannel } from './write/reply-channel';
import { Scheduler } from './write/scheduler';
import { AGGREGATE_STORE } from './write/tokens';

@Module({})
export class CommandModule {
  static forRoot(config: AppConfig<'command'>): DynamicModule {
    return {
      module: CommandModule,
      imports: [
        PlatformModule.forRoot('command', config),
        AuthModule.forRoot(config.LASTMETER_JWT_SECRET),
        ThrottlingModule,
      ],
      controllers: [AuthController, UsersController, DirectoryController, CommunicationsController, ReportsController],
      providers: [
        { provide: AGGREGATE_STORE, useValue: new AggregateStore() },
        { provide: CredentialStore, useValue: new CredentialStore() },
        EventTail,
        ReplyChannel,
        CommandBus,
        FeedLedger,
        PartitionWriters,
        FeedSequencer,
        DeciderService,
        Scheduler,
        DirectoryLookup,
        { provide: SESSION_CHECK, useClass: CommandSessionCheck },
      ],
    };
  }
}
