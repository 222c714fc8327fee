/** The command bus's CommandLog on Kafka: lastmeter.commands.v1 through a fail-fast client. */
import type { CommandEnvelope, TopicNames } from '@lastmeter/contracts';
import type { SharedConfig } from '@lastmeter/config';
import { createKafkaClient, LazyProducer } from '@lastmeter/kafka';
import type { CommandLog } from './ports';

/**
 * Appends commands with acks=all, keyed by aggregate id (so the command lands on the
 * partition whose owner holds the aggregate's events). Its own client with a small retry
 * budget: a request should not hang for kafkajs's default ~30 s before its 503. That
 * bound is why the producer is not idempotent (see LazyProducer in libs/kafka): a copy
 * written twice by a retry is answered once by the decider, which recognises a command
 * already decided by its commandId and a refused request seen before by its requestId.
 */
export class KafkaCommandLog implements CommandLog {
  private readonly producer: LazyProducer;

  constructor(
    config: Pick<SharedConfig, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>,
    private readonly topics: TopicNames,
  ) {
    const kafka = createKafkaClient({
      brokers: config.KAFKA_BROKERS,
      clientId: `${config.KAFKA_CLIENT_ID}-commands`,
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 1_000 },
      connectionTimeout: 2_000,
      requestTimeout: 5_000,
    });
    this.producer = new LazyProducer(kafka);
  }

  append(key: string, command: CommandEnvelope): Promise<void> {
    return this.producer.send(this.topics.commands, key, command);
  }

  appendMany(commands: Array<{ key: string; command: CommandEnvelope }>): Promise<void> {
    return this.producer.sendMany(
      this.topics.commands,
      commands.map(({ key, command }) => ({ key, value: command })),
    );
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}
