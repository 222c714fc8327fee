import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@lastmeter/config';
import { PlatformModule } from '@lastmeter/platform';

@Module({})
export class GatewayModule {
  static forRoot(config: AppConfig<'gateway'>): DynamicModule {
    return { module: GatewayModule, imports: [PlatformModule.forRoot('gateway', config)] };
  }
}
