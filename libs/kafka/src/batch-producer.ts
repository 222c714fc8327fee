import { Partitioners, type ICustomPartitioner, type Kafka, type Producer } from 'kafkajs';
import { ACKS_ALL } from './producers';

/**
 * The project's partitioner (kafkajs' Java-compatible murmur2, as every producer here),
 * remembering the partition of each key: the same key and partition count always give
 * the same partition, and a batch repeats a few store ids hundreds of times.
 */
export const rememberingPartitioner: ICustomPartitioner = () => {
  const partitioner = Partitioners.DefaultPartitioner();
  const known = new Map<string, number>();
  return (args) => {
    const { topic, partitionMetadata, message } = args;
    if (typeof message.key !== 'string' || message.partition !== undefined) return partitioner(args);
    const memo = `${topic}\0${partitionMetadata.length}\0${message.key}`;
    let partition = known.get(memo);
    if (partition === undefined) {
      partition = partitioner(args);
      if (known.size >= 100_000) known.clear();
      known.set(memo, partition);
    }
    return partition;
  };
};

/** One Kafka message of a batch: its key, JSON value and `type` header. */
export interface BatchMessage {
  key: string;
  value: string;
  type: string;
}

/**
 * A producer for many messages per send (the gateway's store facts, batched by
 * FactBatcher): one `send` is one kafkajs `producer.send` of all its messages (grouped
 * into one produce request per broker), acks=all.
 *
 * Unlike LazyProducer it IS idempotent, with kafkajs' unbounded retries, because what
 * it writes is different:
 *
 * - A batch is hundreds of facts in one request. Without idempotence, a request that
 *   timed out after the broker had appended it is sent again and every fact in it is in
 *   the log twice; with it, the broker recognises the retry by the producer id and
 *   sequence numbers and keeps one copy. Facts must be in the log once.
 * - The bound a request handler needs is not the send's but the answer's: FactBatcher
 *   answers "not confirmed, retry" after its deadline while the send goes on. That is
 *   safe for facts (unlike commands, see LazyProducer), because a fact's id is derived
 *   from the fact and its Redis claim stays "being written" until the send settles: a
 *   resend meanwhile is held back, and once Kafka has the fact it answers "duplicate".
 * - kafkajs' idempotence is only safe with unbounded retries AND one send at a time: a
 *   failed produce request rolls the partition's sequence number back, and a second
 *   send running at the same time would take the rolled-back numbers for other
 *   messages, which the broker may drop as duplicates of the first attempt while
 *   reporting success. So sends here run strictly one after another (callers may call
 *   `send` concurrently; they are queued), and after a send fails anyway (a
 *   non-retriable error, or the producer was closed) the producer is replaced, so that
 *   the next send starts with a new producer id and fresh sequence numbers.
 *
 * With one broker in flight per send and one send at a time, throughput comes from the
 * size of the batches, which is what the caller controls.
 */
export class BatchProducer {
  private producer?: Producer;
  private connected?: Promise<void>;
  private turn: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly kafka: Kafka) {}

  /** Appends the messages to `topic` (acks=all) after every earlier send has settled. */
  send(topic: string, messages: BatchMessage[]): Promise<void> {
    const run = this.turn.then(() => this.sendNow(topic, messages));
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async sendNow(topic: string, messages: BatchMessage[]): Promise<void> {
    if (this.closed) throw new Error('the producer is closed');
    const producer = (this.producer ??= this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: rememberingPartitioner,
    }));
    try {
      this.connected ??= producer.connect();
      await this.connected;
      await producer.send({
        topic,
        acks: ACKS_ALL,
        messages: messages.map(({ key, value, type }) => ({ key, value, headers: { type } })),
      });
    } catch (error) {
      // A new producer id for the next send: this one's sequence numbers are in doubt.
      this.producer = undefined;
      this.connected = undefined;
      void producer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** Closes the producer; a send still retrying fails (its caller's claims are released). */
  async disconnect(): Promise<void> {
    this.closed = true;
    const producer = this.producer;
    this.producer = undefined;
    this.connected = undefined;
    await producer?.disconnect().catch(() => undefined);
  }
}
