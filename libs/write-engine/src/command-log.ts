/** The command bus's CommandLog on Kafka: lastmeter.commands.v1 through a fail-fast client. */
import type { CommandEnvelope, TopicNames } from '@lastmeter/contracts';
import type { SharedConfig } from '@lastmeter/config';
import { createKafkaClient, GroupCommit, LazyProducer, traceHeaders, type TraceCarrier } from '@lastmeter/kafka';
import type { CommandLog } from './ports';

/** Commands per produce request when requests queue up behind one in flight. */
export const COMMANDS_PER_PRODUCE = 500;
/**
 * Commands waiting for their produce; beyond, a request is answered 503 busy at once
 * (GroupCommitFull) rather than queued without end.
 */
export const COMMANDS_QUEUED_MAX = 5_000;

/**
 * Appends commands with acks=all, keyed by aggregate id (so the command lands on the
 * partition whose owner holds the aggregate's events), concurrent requests' commands
 * grouped into one produce (GroupCommit). Its own client with a small retry
 * budget: a request should not hang for kafkajs's default ~30 s before its 503. That
 * bound is why the producer is not idempotent (see LazyProducer in libs/kafka): a copy
 * written twice by a retry is answered once by the decider, which recognises a command
 * already decided by its commandId and a refused request seen before by its requestId.
 */
export class KafkaCommandLog implements CommandLog {
  private readonly producer: LazyProducer;
  /** Single commands (HTTP requests), group-committed: one produce carries all that queued meanwhile. */
  private readonly singles: GroupCommit<{ key: string; command: CommandEnvelope; headers: TraceCarrier }>;

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
    this.singles = new GroupCommit((commands) => this.appendMany(commands), {
      maxBatch: COMMANDS_PER_PRODUCE,
      maxQueued: COMMANDS_QUEUED_MAX,
    });
  }

  /** The active trace context goes in the record's headers (taken now: the produce comes later, for a group). */
  append(key: string, command: CommandEnvelope): Promise<void> {
    return this.singles.push({ key, command, headers: traceHeaders() });
  }

  appendMany(commands: Array<{ key: string; command: CommandEnvelope; headers?: TraceCarrier }>): Promise<void> {
    const headers = traceHeaders();
    return this.producer.sendMany(
      this.topics.commands,
      commands.map(({ key, command, headers: own }) => ({ key, value: command, headers: own ?? headers })),
    );
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}
