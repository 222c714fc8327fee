import { Controller, Get, Module } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Public } from '@lastmeter/auth';
import { KafkaHealthIndicator } from '@lastmeter/kafka';
import { RedisHealthIndicator } from '@lastmeter/redis';

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

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
})
export class HealthModule {}
