import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@lastmeter/config';
import { AuthModule } from '@lastmeter/auth';
import { PlatformModule } from '@lastmeter/platform';
import { AuditController } from './history/audit.controller';
import { EventsController } from './history/events.controller';
import { BoardController } from './read/board.controller';
import { CommunicationsController } from './read/communications.controller';
import { StoresController } from './read/stores.controller';
import { StaffController } from './read/staff.controller';
import { MediaController } from './media/media.controller';
import { MediaSweeper } from './media/media-sweeper';
import { MediaModule } from './media/media.module';
import { RealtimeModule } from './realtime/realtime.module';
import { UiConfigController } from './web/ui-config.controller';

@Module({})
export class GatewayModule {
  static forRoot(config: AppConfig<'gateway'>): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        PlatformModule.forRoot('gateway', config),
        AuthModule.forRoot(config.LASTMETER_JWT_SECRET),
        RealtimeModule,
        MediaModule,
      ],
      controllers: [
        CommunicationsController,
        StoresController,
        StaffController,
        BoardController,
        EventsController,
        AuditController,
        UiConfigController,
        MediaController,
      ],
      // Beside the controller: it needs the read models (RealtimeModule) and the media store (MediaModule).
      providers: [MediaSweeper],
    };
  }
}
