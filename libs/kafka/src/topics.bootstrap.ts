import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { TopicNames } from '@lastmeter/contracts';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { KAFKA, TOPIC_NAMES } from './kafka.tokens';
import { ensureTopics } from './topic-admin';

/**
 * Every app makes sure the topics exist when it starts (idempotent, see ensureTopics).
 * It runs in the background with backoff: an app whose Kafka is down still starts and
 * reports "not ready" instead of crash-looping.
 */
@Injectable()
export class TopicsBootstrap implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TopicsBootstrap.name);
  private stopped = false;
  private ensured?: Promise<void>;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(TOPIC_NAMES) private readonly names: TopicNames,
    @Inject(APP_CONFIG) private readonly config: SharedConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.ensured = this.ensureWithBackoff();
  }

  /** Resolves once the topics are known to exist. */
  ready(): Promise<void> {
    return this.ensured ?? Promise.resolve();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
  }

  private async ensureWithBackoff(): Promise<void> {
    for (let attempt = 1, delay = 500; !this.stopped; attempt++, delay = Math.min(delay * 2, 10_000)) {
      const admin = this.kafka.admin();
      try {
        await admin.connect();
        const created = await ensureTopics(admin, this.names, {
          partitions: this.config.KAFKA_PARTITIONS,
          replicationFactor: this.config.KAFKA_REPLICATION_FACTOR,
        });
        if (created.length > 0) this.logger.log(`created topics ${created.join(', ')}`);
        return;
      } catch (error) {
        this.logger.warn(`topics not ensured yet (attempt ${attempt}): ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
  }
}
