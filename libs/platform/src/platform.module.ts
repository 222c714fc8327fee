import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, type SharedConfig } from '@lastmeter/config';
import { KafkaModule } from '@lastmeter/kafka';
import { RedisModule } from '@lastmeter/redis';
import { HealthModule } from './health';
import { loggingModule } from './logging';
import { APP_NAME, MetricsModule } from './metrics';
import { TracingShutdown } from './tracing';

/**
 * What every Last Meter app has: validated config, JSON logs with request ids, Kafka and
 * Redis clients, /v1/health/{live,ready} and /metrics.
 */
@Module({})
export class PlatformModule {
  static forRoot(app: string, config: SharedConfig): DynamicModule {
    return {
      module: PlatformModule,
      global: true,
      imports: [
        ConfigModule.forRoot(config),
        loggingModule(app, config),
        KafkaModule,
        RedisModule,
        MetricsModule,
        HealthModule,
      ],
      providers: [{ provide: APP_NAME, useValue: app }, TracingShutdown],
      exports: [APP_NAME],
    };
  }
}
