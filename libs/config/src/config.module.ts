import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { SharedConfig } from './load-config';

/** Injection token of the app's validated, read-only configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: SharedConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: APP_CONFIG, useValue: config }], exports: [APP_CONFIG] };
  }
}
