import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { TopicNames } from '@lastmeter/contracts';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
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
/** The longest wait between two attempts to start projecting. */
const MAX_RETRY_MS = 30_000;

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
  /** The generation check under way (checkGeneration). */
  private checking?: Promise<void>;
  /** Failed starts in a row, and when the next may be tried (backoff). */
  private failures = 0;
  private retryAt = 0;

  private readonly lagGauge: Gauge<'topic' | 'partition'>;
  private readonly applied: Counter<'topic'>;
  private readonly deadLetters: Counter<'topic'>;
  private readonly latency: Histogram<'topic'>;
  private readonly generationGauge: Gauge;
  private readonly recoveringGauge: Gauge;
  private readonly runningGauge: Gauge;
  private recovering = false;
  private recoveringLoggedAt = 0;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(APP_CONFIG) private readonly config: AppConfig<'projector'>,
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
    this.runningGauge = new Gauge({
      name: 'lastmeter_projector_running',
      help: 'Whether this projector projects (1) or is trying to start (0: the read models fall behind)',
      registers,
      collect: () => this.runningGauge.set(this.runner && this.generation ? 1 : 0),
    });
    this.generationGauge = new Gauge({
      name: 'lastmeter_projector_generation',
      help: 'Number of the read-model generation this projector writes',
      registers,
    });
  }

  onApplicationBootstrap(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    await this.topicsBootstrap.ready();
    if (this.stopped) return;
    this.timers.push(setInterval(() => void this.checkGeneration(), GENERATION_POLL_MS));
    await this.checkGeneration();
  }

  /**
   * (Re)starts projecting into `generation`, from its consumer group's committed offsets.
   * A start that fails (the broker or Redis unreachable, a coordinator still loading)
   * leaves no runner: the next generation check tries again, after a backoff.
   */
  private async follow(generation: string): Promise<void> {
    await this.runner?.stop();
    this.runner = undefined;
    this.generation = undefined;
    if (this.stopped) return;
    const keys = new RedisKeys(this.config.REDIS_KEY_PREFIX, generation);
    const runner = new ProjectionRunner({
      kafka: this.kafka,
      redis: this.redis,
      topics: this.topics,
      keys,
      notify: () => true,
      lingerMs: this.config.PROJECTOR_LINGER_MS,
      onBatch: (stats) => this.record(stats),
      onStopped: (error) => this.runnerStopped(runner, error),
      log: { warn: (m) => this.logger.warn(m), error: (m) => this.logger.error(m), debug: (m) => this.logger.debug(m) },
    });
    this.runner = runner;
    this.generation = generation;
    try {
      await runner.start();
      await this.checkIntegrity();
      await this.heartbeat();
    } catch (error) {
      // Checks run one at a time (checkGeneration): nothing replaced this runner meanwhile.
      await runner.stop();
      this.runner = undefined;
      this.generation = undefined;
      throw error;
    }
    this.generationGauge.set(Number(generation.replace(/\D/g, '')) || 0);
    this.logger.log(`projecting into generation ${generation} (group ${runner.groupId})`);
  }

  /**
   * kafkajs gave up on the runner's consumer (a crash it does not restart after): nothing
   * would be projected any more while the process still looked alive. The next generation
   * check starts a new runner.
   */
  private runnerStopped(runner: ProjectionRunner, error: Error): void {
    if (this.stopped || runner !== this.runner) return;
    this.logger.error(`projection of ${this.generation} stopped (${error.message}): starting it again`);
    this.generation = undefined;
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

  /** One check at a time: a slow one (a start, a switch) makes the next ticks skip. */
  private checkGeneration(): Promise<void> {
    if (this.checking || this.stopped || Date.now() < this.retryAt) return this.checking ?? Promise.resolve();
    this.checking = this.check().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async check(): Promise<void> {
    try {
      const generation = await currentGeneration(this.redis, this.config.REDIS_KEY_PREFIX);
      if (generation === this.generation) {
        await this.heartbeat();
        return await this.checkIntegrity();
      }
      if (this.generation) this.logger.log(`generation switched from ${this.generation} to ${generation}`);
      await this.follow(generation);
      this.failures = 0;
    } catch (error) {
      if (this.stopped) return;
      // Backoff while nothing runs: 1, 2, 4 … 30 s between attempts.
      const delay = this.generation ? 0 : Math.min(GENERATION_POLL_MS * 2 ** this.failures++, MAX_RETRY_MS);
      this.retryAt = Date.now() + delay;
      if (this.generation) this.logger.warn(`generation check failed: ${(error as Error).message}`);
      else this.logger.error(`projector not running (${(error as Error).message}); trying again in ${delay} ms`);
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
    await this.checking;
    await this.runner?.stop();
    const keys = new RedisKeys(this.config.REDIS_KEY_PREFIX);
    await this.redis.hdel(keys.meta('projectors'), this.instanceId).catch(() => undefined);
  }
}
