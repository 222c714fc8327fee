import { Partitioners, type Kafka, type Producer } from 'kafkajs';

/**
 * The project's producers: idempotent (which implies acks=all in kafkajs), no topic
 * auto-creation, and the Java-compatible murmur2 partitioner named explicitly, so the
 * commands and events topics (same partition count) place an aggregate id on the same
 * partition number — the single-writer decider relies on it (docs/design.md section 4).
 */
export function createProducer(kafka: Kafka, options: { transactionalId?: string } = {}): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    ...(options.transactionalId
      ? { transactionalId: options.transactionalId, transactionTimeout: 30_000, retry: TRANSACTIONAL_RETRY }
      : // An idempotent producer must not give up on a send it may have written: kafkajs
        // rolls its sequence back, and the next message could be taken for a duplicate and
        // dropped (its warning "Limiting retries for the idempotent producer…"). The
        // client's bounded budget (kafka-client.ts) is for probes and requests, not here.
        { retry: { retries: Number.MAX_SAFE_INTEGER } }),
  });
}

/**
 * A transactional producer's retries start at 20 ms, as the Java client's do for this
 * case (KAFKA-5477): a transaction begun right after the producer's last commit is
 * answered CONCURRENT_TRANSACTIONS while the coordinator still writes that commit's
 * markers, a few ms, and the client's 200 ms first retry (kafka-client.ts) made such a
 * decision wait 200 ms or more (bench/PROFILE.md row 26). Twelve doublings capped at 5 s
 * give about the same 25 s budget for a broker or coordinator that is really gone.
 */
const TRANSACTIONAL_RETRY = { initialRetryTime: 20, retries: 12, maxRetryTime: 5_000 };

/** acks=all for every send, spelled out where it is relied on. */
export const ACKS_ALL = -1;

/**
 * A producer for request handlers (the command bus, the report route, the gateway's
 * store activity): connects on first use, forgets the connection after any failure (the
 * next request connects again rather than waiting on a dead one), and sends one JSON
 * message with acks=all, its `type` as a header.
 *
 * Unlike createProducer's, it is NOT idempotent, on purpose. A request must fail fast
 * (503 + Retry-After when Kafka is unreachable), so its sends get the client's bounded
 * retry budget, and kafkajs cannot cancel a send: the bound cannot be a deadline around
 * an unbounded send, which would go on retrying after the 503 and append the message
 * once Kafka is back although the client was told nothing was recorded. An idempotent
 * producer with bounded retries is what kafkajs warns about ("Limiting retries for the
 * idempotent producer may invalidate EoS guarantees"), rightly: after a send gives up,
 * kafkajs rolls its sequence number back, and if the broker had in fact written that
 * message, the next, different message reuses the sequence and the broker drops it as
 * a duplicate while reporting success. Without idempotence the worst a retry can do is
 * write the same message twice, and every message sent here carries an id its readers
 * deduplicate by (a command's commandId and requestId in the decider, a fact's event id
 * in the projections). acks=all and one request in flight (ordering) are kept.
 */
export class LazyProducer {
  private readonly producer: Producer;
  private connected?: Promise<void>;

  constructor(kafka: Kafka) {
    this.producer = kafka.producer({
      idempotent: false,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  send(topic: string, key: string, value: { type: string }): Promise<void> {
    return this.sendMany(topic, [{ key, value }]);
  }

  /**
   * Several messages in one `producer.send` (one produce request per broker, a record
   * batch per partition), same guarantees as `send`: acks=all, ordered per partition. A
   * failure may have written some of them (the partitions of another broker, or before a
   * lost response); every message carries an id its readers deduplicate by.
   */
  async sendMany(
    topic: string,
    messages: Array<{ key: string; value: { type: string }; headers?: Record<string, string> }>,
  ): Promise<void> {
    return this.sendRecords(
      topic,
      messages.map(({ key, value, headers }) => ({
        key,
        value: JSON.stringify(value),
        headers: { type: value.type, ...headers },
      })),
    );
  }

  /** Records as they are (a null value is a tombstone), with the same guarantees. */
  async sendRecords(
    topic: string,
    /** `timestamp`: the record's time (ms as a string); default now. */
    records: Array<{ key: string; value: string | null; headers: Record<string, string>; timestamp?: string }>,
  ): Promise<void> {
    if (records.length === 0) return;
    try {
      this.connected ??= this.producer.connect();
      await this.connected;
      await this.producer.send({ topic, acks: ACKS_ALL, messages: records });
    } catch (error) {
      this.connected = undefined;
      throw error;
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}
