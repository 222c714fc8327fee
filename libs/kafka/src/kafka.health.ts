import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Admin } from 'kafkajs';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { createKafkaClient, describeClusterWithin } from './kafka-client';

const CHECK_TIMEOUT_MS = 2_000;

/**
 * Readiness: the cluster answers a metadata request. Uses its own fail-fast client so a
 * dead broker turns the check red in ~2 s instead of after kafkajs's retry budget.
 */
@Injectable()
export class KafkaHealthIndicator implements OnModuleDestroy {
  private admin?: Admin;

  constructor(
    @Inject(APP_CONFIG) private readonly config: SharedConfig,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(key = 'kafka') {
    const check = this.health.check(key);
    this.admin ??= createKafkaClient({
      brokers: this.config.KAFKA_BROKERS,
      clientId: `${this.config.KAFKA_CLIENT_ID}-health`,
      retry: { retries: 0 },
      connectionTimeout: 1_000,
      requestTimeout: CHECK_TIMEOUT_MS,
    }).admin();
    try {
      const cluster = await describeClusterWithin(
        this.admin,
        CHECK_TIMEOUT_MS,
        `no answer within ${CHECK_TIMEOUT_MS} ms`,
      );
      return check.up({ brokers: cluster.brokers.length, clusterId: cluster.clusterId });
    } catch (error) {
      // Disconnected (not awaited) by describeClusterWithin; the next check starts afresh.
      this.admin = undefined;
      return check.down({ message: (error as Error).message });
    }
  }

  async onModuleDestroy(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }
}
