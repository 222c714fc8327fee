import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@lastmeter/config';
import { AuthModule, SESSION_CHECK } from '@lastmeter/auth';
import { lastmeterHome } from '@lastmeter/infra';
import { configuredMediaStore, MediaLibrary } from '@lastmeter/media';
import { PlatformModule } from '@lastmeter/platform';
import { WriteEngineModule } from '@lastmeter/write-engine';
import { AuthController } from './auth/auth.controller';
import { CommandSessionCheck } from './auth/session-check';
import { ThrottlingModule } from './auth/throttling.module';
import { UsersController } from './auth/users.controller';
import { CommunicationMedia } from './communications/communication-media';
import { CommunicationsController } from './communications/communications.controller';
import { DirectoryController } from './directory/directory.controller';
import { DirectoryLookup } from './directory/directory-lookup';
import { ReportsController } from './directory/reports.controller';
import { DirectoryImport } from './imports/directory-import.service';
import { ImportsController } from './imports/imports.controller';
import { PersonKeys } from './staff/person-keys';
import { PinAttempts } from './staff/pin-attempts';
import { StaffController } from './staff/staff.controller';
import { TasksController } from './staff/tasks.controller';

@Module({})
export class CommandModule {
  static forRoot(config: AppConfig<'command'>): DynamicModule {
    return {
      module: CommandModule,
      imports: [
        PlatformModule.forRoot('command', config),
        AuthModule.forRoot(config.LASTMETER_JWT_SECRET),
        ThrottlingModule,
        WriteEngineModule,
      ],
      controllers: [
        AuthController,
        UsersController,
        DirectoryController,
        ImportsController,
        CommunicationsController,
        ReportsController,
        StaffController,
        TasksController,
      ],
      providers: [
        DirectoryLookup,
        DirectoryImport,
        PersonKeys,
        PinAttempts,
        CommunicationMedia,
        { provide: MediaLibrary, useValue: new MediaLibrary(configuredMediaStore(config, lastmeterHome().media)) },
        { provide: SESSION_CHECK, useClass: CommandSessionCheck },
      ],
    };
  }
}
