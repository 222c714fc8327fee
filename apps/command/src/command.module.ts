import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@lastmeter/config';
import { PlatformModule } from '@lastmeter/platform';

@Module({})
export class CommandModule {
  static forRoot(config: AppConfig<'command'>): DynamicModule {
    return { module: CommandModule, imports: [PlatformModule.forRoot('command', config)] };
  }
}
