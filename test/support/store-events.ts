import { randomUUID } from 'node:crypto';
import {
  storeActivityEvent,
  topicNames,
  type DomainEvent,
  type EventDataByType,
  type EventType,
} from '@lastmeter/contracts';
import { ACKS_ALL, createKafkaClient, createProducer, type Producer } from '@lastmeter/kafka';
import type { TestNamespace } from './env';

/**
 * Writes store activity (receipts, presence) straight to lastmeter.store-events.v1, as
 * the realtime gateway will: the read side must project whatever the log holds.
 */
export class StoreEventWriter {
  private readonly producer: Producer;
  private connected?: Promise<void>;
  readonly topics;

  constructor(readonly ns: TestNamespace) {
    this.topics = topicNames(ns.topicPrefix);
    this.producer = createProducer(createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test' }));
  }

  event<T extends EventType>(type: T, data: EventDataByType[T], terminalId = 'terminal-1'): DomainEvent<T> {
    return storeActivityEvent(type, randomUUID(), { id: terminalId, role: 'terminal' }, data);
  }

  /** Sends raw values (events or anything else) keyed by store id. */
  async send(storeId: string, values: unknown[], topic = this.topics.storeEvents): Promise<void> {
    this.connected ??= this.producer.connect();
    await this.connected;
    await this.producer.send({
      topic,
      acks: ACKS_ALL,
      messages: values.map((value) => ({
        key: storeId,
        value: typeof value === 'string' ? value : JSON.stringify(value),
      })),
    });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
