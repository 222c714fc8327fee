/** Partition writers: one fenced PartitionWriter per commands partition this instance owns. */
import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import type { TopicNames } from '@lastmeter/contracts';
import type { SharedConfig } from '@lastmeter/config';
import { createKafkaClient, createProducer, TOPIC_NAMES } from '@lastmeter/kafka';
import { EventTail } from './event-tail';
import { PartitionWriter, transactionalIdOf } from './partition-writer';
import type { EventHistory, PartitionWriterPool, TransactionalProducerFactory } from './ports';
import { TRANSACTIONAL_PRODUCERS } from './write-engine.tokens';
import { WriteMetrics } from './write-metrics';

/**
 * The transactional writers of the partitions this instance owns in the decider group.
 * Owning commands partition p makes this instance the only writer of events partition p
 * and of feed partition p (same count, same partitioner), until the next rebalance.
 */
@Injectable()
export class PartitionWriters implements PartitionWriterPool, OnApplicationShutdown {
  private readonly logger = new Logger(PartitionWriters.name);
  readonly groupId: string;
  private readonly writers = new Map<number, Promise<PartitionWriter>>();
  /** Closing the previous generation's writers; new ones wait for it (one producer per id). */
  private dropping: Promise<void> = Promise.resolve();
  private readonly openedListeners: Array<(partition: number) => void> = [];

  constructor(
    @Inject(TRANSACTIONAL_PRODUCERS) private readonly producers: TransactionalProducerFactory,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(EventTail) private readonly history: EventHistory,
    @Optional() @Inject(WriteMetrics) private readonly metrics: WriteMetrics = WriteMetrics.none(),
  ) {
    this.groupId = `${topics.commands}.decider`;
  }

  /** After a rebalance: drop every writer, then open (fence + catch up) the assigned ones. */
  reassign(partitions: number[]): void {
    this.dropping = this.dropAll();
    for (const partition of partitions) {
      this.writerFor(partition).catch((error: unknown) =>
        this.logger.warn(`partition ${partition} not ready: ${(error as Error).message}`),
      );
    }
  }

  /** The partition's writer, opened (fencing older owners) and caught up. */
  writerFor(partition: number): Promise<PartitionWriter> {
    let writer = this.writers.get(partition);
    if (!writer) {
      writer = (async () => {
        await this.dropping;
        const producer = this.producers(transactionalIdOf(this.groupId, this.topics, partition));
        const created = new PartitionWriter(producer, this.topics, this.groupId, partition, this.metrics);
        await created.open();
        await this.history.catchUp([partition]);
        for (const listener of this.openedListeners) listener(partition);
        return created;
      })();
      writer.catch(() => this.writers.delete(partition));
      this.writers.set(partition, writer);
    }
    return writer;
  }

  /** Partitions this instance currently writes. */
  owned(): number[] {
    return [...this.writers.keys()];
  }

  /** Calls `listener` each time a partition's writer is open and its history read. */
  onOpened(listener: (partition: number) => void): void {
    this.openedListeners.push(listener);
  }

  private async dropAll(): Promise<void> {
    const writers = [...this.writers.values()];
    this.writers.clear();
    await Promise.all(writers.map(async (writer) => (await writer.catch(() => undefined))?.close()));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.dropAll();
  }
}

/**
 * The production TransactionalProducerFactory. The writers have their own client: a
 * transaction that starts right after the previous commit often meets
 * CONCURRENT_TRANSACTIONS for a few milliseconds; kafkajs's default 200 ms first retry
 * would put that on every command's latency.
 */
export function kafkaTransactionalProducers(
  config: Pick<SharedConfig, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>,
): TransactionalProducerFactory {
  const kafka = createKafkaClient({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-decider`,
    retry: { initialRetryTime: 10, maxRetryTime: 1_000, retries: 15, factor: 0.5, multiplier: 1.5 },
  });
  return (transactionalId) => createProducer(kafka, { transactionalId });
}
