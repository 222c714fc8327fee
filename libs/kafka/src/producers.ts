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
