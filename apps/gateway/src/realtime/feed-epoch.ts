import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { TopicNames } from '@lastmeter/contracts';
import { describeClusterWithin, KAFKA, TOPIC_NAMES, type Kafka } from '@lastmeter/kafka';

/** How long one attempt to learn the epoch may take before it is given up and made afresh. */
export const EPOCH_ATTEMPT_MS = 5_000;
/** The longest pause between the background attempts of a gateway that has no epoch yet. */
const EPOCH_RETRY_MAX_MS = 10_000;

/**
 * The feed epoch of docs/design.md section 5. Feed positions come from the log
 * (lastmeter.feed.v1), so they survive gateway restarts, Redis loss and rebuilds; they
 * change only if the log itself is replaced. The epoch therefore names the log: a hash
 * of the Kafka cluster id and the feed topic's name.
 *
 * Every terminal handshake needs it, so the gateway learns it as it starts, in the
 * background, and keeps trying until it has it (a gateway restarted into a reconnect
 * storm once held all of them until its first Kafka admin connection answered: 2,000
 * handshakes released in the same 3 ms, up to 900 ms late, in `reconnect-storm`). Each
 * attempt is bounded (EPOCH_ATTEMPT_MS): one that hangs (a connection or a request
 * stuck on a loaded broker, which kafkajs only gives up after its 30 s request timeout)
 * is dropped and made afresh, so a handshake waits for at most two attempts and is
 * refused `unavailable` after that, never held without an answer.
 */
@Injectable()
export class FeedEpoch implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(FeedEpoch.name);
  private known?: string;
  private attempt?: Promise<string>;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  /** One attempt's bound (tests shorten it). */
  attemptMs = EPOCH_ATTEMPT_MS;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
  ) {}

  onApplicationBootstrap(): void {
    this.learn(0);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  /**
   * The epoch. Without it yet, joins the attempt under way (or makes one); if that fails,
   * makes one more, fresh: a handshake waits for two attempts at most.
   */
  async get(): Promise<string> {
    if (this.known !== undefined) return this.known;
    try {
      return await this.once();
    } catch {
      return this.once();
    }
  }

  /** In the background until known, 1 s after a failed attempt, then twice as long each time up to 10 s. */
  private learn(failures: number): void {
    if (this.stopped || this.known !== undefined) return;
    this.once().then(
      () => {
        if (failures > 0) this.logger.log(`feed epoch known after ${failures + 1} attempts`);
      },
      (error: unknown) => {
        if (this.stopped) return;
        if (failures === 0) this.logger.warn(`feed epoch not known yet (${(error as Error).message}); trying again`);
        const pause = Math.min(EPOCH_RETRY_MAX_MS, 1_000 * 2 ** failures);
        this.retryTimer = setTimeout(() => this.learn(failures + 1), pause);
        this.retryTimer.unref?.();
      },
    );
  }

  /** The attempt under way, or a new one. */
  private once(): Promise<string> {
    if (this.known !== undefined) return Promise.resolve(this.known);
    this.attempt ??= this.compute().then(
      (epoch) => {
        this.known = epoch;
        this.attempt = undefined;
        return epoch;
      },
      (error: unknown) => {
        this.attempt = undefined;
        throw error;
      },
    );
    return this.attempt;
  }

  private async compute(): Promise<string> {
    const admin = this.kafka.admin();
    const { clusterId } = await describeClusterWithin(
      admin,
      this.attemptMs,
      `Kafka did not describe the cluster within ${this.attemptMs} ms`,
    );
    await admin.disconnect().catch(() => undefined);
    return createHash('sha256').update(`${clusterId}/${this.topics.feed}`).digest('base64url').slice(0, 12);
  }
}
