import { createHash } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { TopicNames } from '@lastmeter/contracts';
import { KAFKA, TOPIC_NAMES, type Kafka } from '@lastmeter/kafka';

/**
 * The feed epoch of docs/design.md section 5. Feed positions come from the log
 * (lastmeter.feed.v1), so they survive gateway restarts, Redis loss and rebuilds; they
 * change only if the log itself is replaced. The epoch therefore names the log: a hash
 * of the Kafka cluster id and the feed topic's name.
 */
@Injectable()
export class FeedEpoch implements OnApplicationBootstrap {
  private epoch?: Promise<string>;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
  ) {}

  /**
   * Asks Kafka as the gateway starts, in the background, rather than at the first
   * handshake: every terminal's handshake needs the epoch, so a gateway restarted into a
   * reconnect storm held all of them until its first Kafka admin connection had answered
   * (2,000 handshakes released in the same 3 ms, up to 900 ms late, in `reconnect-storm`).
   * If Kafka does not answer now, the first handshake asks again.
   */
  onApplicationBootstrap(): void {
    this.get().catch(() => undefined);
  }

  get(): Promise<string> {
    this.epoch ??= this.compute().catch((error: unknown) => {
      this.epoch = undefined;
      throw error;
    });
    return this.epoch;
  }

  private async compute(): Promise<string> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { clusterId } = await admin.describeCluster();
      return createHash('sha256').update(`${clusterId}/${this.topics.feed}`).digest('base64url').slice(0, 12);
    } finally {
      await admin.disconnect();
    }
  }
}
