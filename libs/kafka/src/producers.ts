import { Partitioners, type Kafka, type Producer } from 'kafkajs';

/**
 * The project's producers: idempotent (which implies acks=all in kafkajs), no topic
 * auto-creation, and the Java-compatible murmur2 partitioner named explicitly, so the
 * commands and events topics (same partition count) place an aggregate id on the same
 * partition number — the single-writer decider relies on it (DESIGN.md section 4).
 */
export function createProducer(kafka: Kafka, options: { transactionalId?: string } = {}): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    ...(options.transactionalId ? { transactionalId: options.transactionalId, transactionTimeout: 30_000 } : {}),
  });
}

/** acks=all for every send, spelled out where it is relied on. */
export const ACKS_ALL = -1;

/**
 * A project producer for request handlers: connects on first use, forgets the
 * connection after any failure (the next request connects again rather than waiting on
 * a dead one), and sends one JSON message with acks=all, its `type` as a header.
 */
export class LazyProducer {
  private readonly producer: Producer;
  private connected?: Promise<void>;

  constructor(kafka: Kafka) {
    this.producer = createProducer(kafka);
  }

  async send(topic: string, key: string, value: { type: string }): Promise<void> {
    try {
      this.connected ??= this.producer.connect();
      await this.connected;
      await this.producer.send({
        topic,
        acks: ACKS_ALL,
        messages: [{ key, value: JSON.stringify(value), headers: { type: value.type } }],
      });
    } catch (error) {
      this.connected = undefined;
      throw error;
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}
