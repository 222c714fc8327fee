/** Event tail: the Kafka reader that keeps the engine's in-memory view in line with the log. */
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { parseRecord, upcast, type CredentialRecord, type TopicNames } from '@lastmeter/contracts';
import { KAFKA, TOPIC_NAMES, TopicsBootstrap, type Admin, type Consumer, type Kafka } from '@lastmeter/kafka';
import type { AggregateStore } from './aggregate-store';
import { CredentialStore } from './credential-store';
import { FeedLedger } from './feed-ledger';
import type { EventHistory } from './ports';
import { AGGREGATE_STORE } from './write-engine.tokens';

/**
 * Reads the whole events topic (read_committed) into the AggregateStore, the feed
 * topic into the FeedLedger and the credentials topic into the CredentialStore, and keeps
 * following them. It tracks its position per partition including transaction markers,
 * so "caught up to the last stable offset" is a precise, awaitable condition: a new
 * partition owner waits for it before deciding or sequencing anything.
 */
@Injectable()
export class EventTail implements EventHistory, OnApplicationShutdown {
  private readonly logger = new Logger(EventTail.name);
  /** Next offset to read, by `topic/partition`. */
  private readonly positions = new Map<string, number>();
  private waiters: Array<() => void> = [];
  private consumer?: Consumer;
  private admin?: Admin;
  private started?: Promise<void>;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(AGGREGATE_STORE) private readonly store: AggregateStore,
    private readonly ledger: FeedLedger,
    private readonly credentials: CredentialStore,
    private readonly topicsBootstrap: TopicsBootstrap,
  ) {}

  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  private async run(): Promise<void> {
    await this.topicsBootstrap.ready();
    // A group of its own per instance: every instance needs every partition. kafkajs
    // has no manual assignment; the group is never committed to and expires on its own.
    const consumer = this.kafka.consumer({
      groupId: `${this.topics.events}.command-view.${randomUUID()}`,
      readUncommitted: false,
      sessionTimeout: 30_000,
      maxWaitTimeInMs: 100,
    });
    this.consumer = consumer;
    this.admin = this.kafka.admin();
    await this.admin.connect();
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      this.positions.set(`${payload.topic}/${payload.partition}`, Number(payload.lastOffset) + 1);
      this.notify();
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.followed(), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 4,
      eachMessage: async ({ topic, partition, message }) => {
        try {
          if (topic === this.topics.credentials) {
            const id = message.key?.toString() ?? '';
            const record = message.value ? (JSON.parse(message.value.toString()) as CredentialRecord) : null;
            this.credentials.apply({ id, record });
            return;
          }
          for (const envelope of parseRecord(message.value)) {
            const event = upcast(envelope);
            if (event.type === 'feed.appended') this.ledger.apply(event.data);
            else this.store.apply(event, partition);
          }
        } catch (error) {
          // The decider only ever appends valid events; anything else is logged and skipped.
          this.logger.error(`skipping ${topic}[${partition}]@${message.offset}: ${(error as Error).message}`);
        }
      },
    });
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private async reached(targets: Map<string, number>): Promise<void> {
    const done = () =>
      [...targets].every(([position, offset]) => offset === 0 || (this.positions.get(position) ?? 0) >= offset);
    while (!done()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /**
   * Resolves once the partitions (all when omitted) of the events, feed and credentials topics are
   * read up to their last stable offset.
   */
  async catchUp(partitions?: number[]): Promise<void> {
    await this.start();
    // start() has connected the admin before it resolves.
    const admin = this.admin!;
    const targets = new Map<string, number>();
    for (const topic of this.followed()) {
      // With the default read_committed isolation this is the last stable offset.
      for (const { partition, offset } of await admin.fetchTopicOffsets(topic)) {
        if (!partitions || partitions.includes(partition)) targets.set(`${topic}/${partition}`, Number(offset));
      }
    }
    await this.reached(targets);
  }

  private followed(): string[] {
    return [this.topics.events, this.topics.feed, this.topics.credentials];
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
