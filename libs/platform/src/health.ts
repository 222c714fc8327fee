import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Public } from '@lastmeter/auth';
import { KafkaHealthIndicator } from '@lastmeter/kafka';
import { RedisHealthIndicator } from '@lastmeter/redis';
import { Gauge } from 'prom-client';
import { MetricsRegistry } from './metrics';

@ApiTags('health')
@Public()
@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly kafka: KafkaHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  /** The process is up and serving HTTP; says nothing about its dependencies. */
  @Get('live')
  @ApiOkResponse({
    description: 'Up',
    schema: {
      type: 'object',
      properties: { status: { type: 'string', enum: ['ok'] } },
      required: ['status'],
      additionalProperties: false,
    },
  })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** 200 when Kafka and Redis both answer, 503 (with details) otherwise. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.kafka.isHealthy('kafka'), () => this.redis.isHealthy('redis')]);
  }
}

/**
 * `lastmeter_dependency_up{dependency}`: 1 when Kafka (or Redis) answered this app's check
 * at the last scrape, 0 otherwise. The same checks as /v1/health/ready, run per scrape.
 */
@Injectable()
class DependencyMetrics {
  constructor(registry: MetricsRegistry, kafka: KafkaHealthIndicator, redis: RedisHealthIndicator) {
    new Gauge({
      name: 'lastmeter_dependency_up',
      help: "1 when the dependency answered this app's health check at the last scrape, 0 when it did not",
      labelNames: ['dependency'],
      registers: [registry],
      async collect() {
        const [k, r] = await Promise.all([kafka.isHealthy('kafka'), redis.isHealthy('redis')]);
        this.set({ dependency: 'kafka' }, k.kafka?.status === 'up' ? 1 : 0);
        this.set({ dependency: 'redis' }, r.redis?.status === 'up' ? 1 : 0);
      },
    });
  }
}

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [DependencyMetrics],
})
export class HealthModule {}
