import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { TopicNames } from '@lastmeter/contracts';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { KAFKA, TOPIC_NAMES, TopicsBootstrap, type Kafka } from '@lastmeter/kafka';
import { MetricsRegistry } from '@lastmeter/platform';
import {
  checkIntegrity,
  currentGeneration,
  ProjectionRunner,
  RedisKeys,
  type BatchStats,
} from '@lastmeter/read-models';
import { REDIS } from '@lastmeter/redis';

const GENERATION_POLL_MS = 1_000;

/**
 * The projector app: runs the projection of the serving generation, follows a switch to
 * a rebuilt generation (`lastmeter rebuild`), and reports lag, throughput, latency and
 * dead letters on /metrics. Any number may run; the consumer group shares the partitions.
 */
@Injectable()
export class ProjectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ProjectorService.name);
  readonly instanceId = randomUUID();
  private runner?: ProjectionRunner;
  private generation?: string;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private switching?: Promise<void>;

  private readonly lagGauge: Gauge<'topic' | 'partition'>;
  private readonly applied: Counter<'topic'>;
  private readonly deadLetters: Counter<'topic'>;
  private readonly latency: Histogram<'topic'>;
  private readonly generationGauge: Gauge;
  private readonly recoveringGauge: Gauge;
  private recovering = false;
  private recoveringLoggedAt = 0;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(APP_CONFIG) private readonly config: SharedConfig,
    private readonly topicsBootstrap: TopicsBootstrap,
    registry: MetricsRegistry,
  ) {
    const registers = [registry];
    const updateLag = () => this.updateLag();
    this.lagGauge = new Gauge({
      name: 'lastmeter_projector_lag',
      help: 'Messages not yet projected, per projected topic and partition (measured at scrape)',
      labelNames: ['topic', 'partition'],
      registers,
      collect: updateLag,
    });
    this.applied = new Counter({
      name: 'lastmeter_projector_events_applied_total',
      help: 'Events applied to the read models',
      labelNames: ['topic'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'lastmeter_projector_dead_letters_total',
      help: 'Events sent to the DLQ because they could not be applied',
      labelNames: ['topic'],
      registers,
    });
    this.latency = new Histogram({
      name: 'lastmeter_projector_apply_seconds',
      help: 'Time to apply one batch of events to Redis',
      labelNames: ['topic'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.recoveringGauge = new Gauge({
      name: 'lastmeter_projector_recovering_events',
      help: 'Events still to re-project before the read models are whole again after Redis lost data (0: whole)',
      registers,
    });
    this.generationGauge = new Gauge({
      name: 'lastmeter_projector_generation',
      help: 'Number of the read-model generation this projector writes',
      registers,
    });
  }

  onApplicationBootstrap(): void {
    void this.run().catch((error: unknown) => {
      // Shut down while still starting (Ctrl-C during start-up): the closed connection is
      // the shutdown itself, not a failure.
      if (this.stopped) this.logger.debug(`start-up interrupted by shutdown: ${(error as Error).message}`);
      else this.logger.error(`projector stopped: ${(error as Error).message}`);
    });
  }

  private async run(): Promise<void> {
    await this.topicsBootstrap.ready();
    await this.follow(await currentGeneration(this.redis, this.config.REDIS_KEY_PREFIX));
    this.timers.push(setInterval(() => void this.checkGeneration(), GENERATION_POLL_MS));
  }

  /** (Re)starts projecting into `generation`, from its consumer group's committed offsets. */
  private async follow(generation: string): Promise<void> {
    await this.runner?.stop();
    if (this.stopped) return;
    this.generation = generation;
    this.generationGauge.set(Number(generation.replace(/\D/g, '')) || 0);
    const keys = new RedisKeys(this.config.REDIS_KEY_PREFIX, generation);
    this.runner = new ProjectionRunner({
      kafka: this.kafka,
      redis: this.redis,
      topics: this.topics,
      keys,
      notify: () => true,
      onBatch: (stats) => this.record(stats),
      log: { warn: (m) => this.logger.warn(m), error: (m) => this.logger.error(m), debug: (m) => this.logger.debug(m) },
    });
    await this.runner.start();
    await this.checkIntegrity();
    await this.heartbeat();
    this.logger.log(`projecting into generation ${generation} (group ${this.runner.groupId})`);
  }

  /**
   * Whether the serving generation is whole (see checkIntegrity): a Redis that lost data
   * is re-projected by the runner from its positions, and this marks the generation whole
   * again once every partition is back at the log's end as it was when the loss was seen.
   */
  private async checkIntegrity(): Promise<void> {
    const runner = this.runner;
    if (!runner || !this.generation) return;
    const keys = new RedisKeys(this.config.REDIS_KEY_PREFIX, this.generation);
    // Every second, whole or not: a failover that dropped the last writes keeps `intact`
    // (it was replicated long before) but not the positions of those writes.
    await runner.realign();
    const integrity = await checkIntegrity(this.redis, keys, () => runner.endOffsets());
    this.recoveringGauge.set(integrity.state === 'recovering' ? integrity.behind : 0);
    if (integrity.state === 'recovered') {
      if (this.recovering) this.logger.log(`read models of ${this.generation} are whole again`);
      this.recovering = false;
    } else if (integrity.state === 'recovering') {
      const now = Date.now();
      if (!this.recovering || now - this.recoveringLoggedAt >= 5_000) {
        this.logger.warn(
          `read models of ${this.generation} are incomplete (Redis lost data): re-projecting, ${integrity.behind} events to go; readers get 503 meanwhile`,
        );
        this.recoveringLoggedAt = now;
      }
      this.recovering = true;
    }
  }

  private record({ topic, result, seconds }: BatchStats): void {
    this.applied.inc({ topic }, result.applied);
    if (result.failed.length > 0) this.deadLetters.inc({ topic }, result.failed.length);
    this.latency.observe({ topic }, seconds);
  }

  /** Lets `lastmeter rebuild` see which generation each live projector writes. */
  private async heartbeat(): Promise<void> {
    const keys = new RedisKeys(this.config.REDIS_KEY_PREFIX);
    await this.redis.hset(
      keys.meta('projectors'),
      this.instanceId,
      JSON.stringify({ generation: this.generation, at: new Date().toISOString(), pid: process.pid }),
    );
  }

  private async checkGeneration(): Promise<void> {
    if (this.switching || this.stopped) return;
    try {
      const generation = await currentGeneration(this.redis, this.config.REDIS_KEY_PREFIX);
      await this.heartbeat();
      if (generation === this.generation) return await this.checkIntegrity();
      this.logger.log(`generation switched from ${this.generation} to ${generation}`);
      this.switching = this.follow(generation).finally(() => (this.switching = undefined));
      await this.switching;
    } catch (error) {
      this.logger.warn(`generation check failed: ${(error as Error).message}`);
    }
  }

  private async updateLag(): Promise<void> {
    try {
      for (const { topic, partition, lag } of (await this.runner?.lag()) ?? []) {
        this.lagGauge.set({ topic, partition: String(partition) }, lag);
      }
    } catch (error) {
      this.logger.debug(`lag not measured: ${(error as Error).message}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.switching;
    await this.runner?.stop();
    const keys = new RedisKeys(this.config.REDIS_KEY_PREFIX);
    await this.redis.hdel(keys.meta('projectors'), this.instanceId).catch(() => undefined);
  }
}
