/** Partition writer: a fenced, transactional single writer of one partition: its decisions (events, credentials, offsets) or its feed. */
import {
  CREDENTIAL_RECORD,
  PERSON_KEY_RECORD,
  FEED_BATCH,
  feedBatchRecord,
  FEED_NOTICED_HEADER,
  type DomainEvent,
  type EventEnvelope,
  type TopicNames,
} from '@lastmeter/contracts';
import type { AppendBatch, TransactionalProducer, TransactionalWriter } from './ports';
import { WriteMetrics } from './write-metrics';
import { traceOf } from '@lastmeter/kafka';

/** The transactional id of a partition's writer: the same for every owner of that partition. */
export function transactionalIdOf(groupId: string, topics: TopicNames, partition: number): string {
  return `${groupId}.${topics.commands}.${partition}`;
}

/**
 * The transactional id of a partition's feed writer (the feed sequencer's transactions):
 * a producer of its own, so a feed transaction never waits for the decision just
 * committed on the same producer (CONCURRENT_TRANSACTIONS while the coordinator writes
 * its markers) nor queues behind the partition's next decisions. Fenced the same way.
 */
export function feedTransactionalIdOf(groupId: string, topics: TopicNames, partition: number): string {
  return `${transactionalIdOf(groupId, topics, partition)}.feed`;
}

/**
 * The only writer of one commands partition's events (or, as the partition's feed
 * writer, of its feed). Its transactional id is derived from group + topic + partition:
 * a new owner's initTransactions fences the previous one and aborts its open
 * transaction, so a zombie can never append after a rebalance.
 *
 * A decision may also carry the feed entries of the other feed partitions its instance
 * owns (FeedSequencer.withinDecision). Those partitions' new owners cannot fence this
 * writer's id; the decision's offsets, sent after its records and naming its group
 * member (KIP-447), are what stop a zombie there.
 */
export class PartitionWriter implements TransactionalWriter {
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private readonly producer: TransactionalProducer;
  /**
   * Set when a transaction failed for another reason than fencing or a busy coordinator.
   * kafkajs rolls a partition's sequence number back when a Produce request fails, even
   * one the broker wrote (its answer lost, the retries spent). The transaction is aborted,
   * but the broker still holds that batch's sequence: the next transaction's batch of the
   * same size would reuse it, be taken for a duplicate and dropped, while its commit (and
   * the command offset) succeeds. So this producer takes no more transactions. Nor does the
   * writer take a new epoch itself (InitProducerId on a new producer of the same id, as it
   * once did): a zombie (an instance paused past its session, whose partitions moved on)
   * does not know it is one, and a new epoch would fence the partition's new owner and let
   * the zombie write there again (CI saw a store's feed numbered twice that way). It says
   * so (`onRefused`, in doubt), and the decider leaves the group and joins again: only an
   * assignment opens a new writer, as Kafka Streams does after such errors (KIP-360).
   */
  private inDoubt = false;

  /**
   * `producers` makes the transactional producer of transactionalIdOf(groupId, topics, partition).
   * `onRefused` hears each transaction refused because another writer holds the id or the
   * partition now, and each failure after which this writer is in doubt (`inDoubt: true`):
   * PartitionWriters tells the decider service, which gets a new assignment.
   */
  constructor(
    private readonly producers: () => TransactionalProducer,
    private readonly topics: TopicNames,
    private readonly groupId: string,
    readonly partition: number,
    private readonly metrics: WriteMetrics = WriteMetrics.none(),
    private readonly onRefused: (error: unknown, inDoubt: boolean) => void = () => undefined,
  ) {
    this.producer = producers();
  }

  /** Connects and fences any previous owner (initProducerId runs on the first transaction). */
  async open(): Promise<void> {
    await this.producer.connect();
    const txn = await this.producer.transaction();
    await txn.abort();
  }

  /** Runs `work` after everything queued before it: one transaction at a time per writer. */
  serialize<T>(work: () => Promise<T>): Promise<T> {
    this.queued++;
    const next = this.queue.then(work, work).finally(() => this.queued--);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Whether work runs or waits in its queue now. */
  get busy(): boolean {
    return this.queued > 0;
  }

  /**
   * Appends the events, feed entries and credential changes and, when given, commits the
   * command's offset, atomically. Either all are visible to read_committed consumers or
   * none is.
   */
  async append(batch: AppendBatch): Promise<void> {
    if (this.inDoubt) {
      throw new Error(
        `partition ${this.partition}'s writer is in doubt after a failed transaction: it waits for a new assignment`,
      );
    }
    // Right after a commit (or a fenced predecessor's abort) the coordinator may still be
    // writing markers and answers CONCURRENT_TRANSACTIONS, a retriable error that kafkajs
    // does not retry for AddOffsetsToTxn. Back off briefly and run the transaction again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.appendOnce(batch);
      } catch (error) {
        if (isConcurrentTransactions(error) && attempt < 50) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(20 * attempt, 500)));
          continue;
        }
        // Fenced or refused as a stale member: another owner writes now, whom a new epoch
        // would fence. Only a new assignment from the group may open a new epoch; the same
        // after any other failure (inDoubt).
        if (isFencing(error)) this.onRefused(error, false);
        else {
          this.inDoubt = true;
          this.onRefused(error, true);
        }
        throw error;
      }
    }
  }

  private async appendOnce({
    events = [],
    commandOffset,
    feed = [],
    credentials = [],
    feedTrace,
    member,
    committed,
  }: AppendBatch) {
    const started = performance.now();
    const txn = await this.producer.transaction();
    // The notice on commit carries every feed entry of this transaction: all of its
    // records say so (FEED_NOTICED_HEADER), its events too, and a projector lets a few of
    // them wait while the fan-out their commit starts has the cores (`mayLinger`). All or
    // none: a transaction with one chunk the notice does not carry marks no record.
    const chunks = feed.filter((chunk) => chunk.entries.length > 0);
    const noticed = chunks.length > 0 && chunks.every((chunk) => chunk.noticed);
    const noticedHeader: Record<string, string> = noticed ? { [FEED_NOTICED_HEADER]: 'true' } : {};
    const messages = (list: EventEnvelope[]) =>
      list.map((event) => ({
        key: event.aggregateId,
        value: JSON.stringify(event),
        // The decision's trace (rememberTrace), when tracing is on.
        headers: { type: event.type, ...noticedHeader, ...traceOf(event.id) },
      }));
    try {
      const topicMessages = [
        { topic: this.topics.events, messages: messages(events) },
        // Each chunk of feed entries as one record (each communication's content once), in
        // the chunk's partition: the stores whose feeds they extend live there.
        {
          topic: this.topics.feed,
          messages: chunks.map((chunk) => ({
            key: FEED_BATCH,
            partition: chunk.partition,
            value: JSON.stringify(feedBatchRecord(chunk.entries as Array<DomainEvent<'feed.appended'>>)),
            headers: { type: FEED_BATCH, ...noticedHeader, ...feedTrace },
          })),
        },
        {
          // Same partition as the aggregate's events, so a new owner's catch-up of
          // partition p covers its credentials too. A null value is a tombstone.
          topic: this.topics.credentials,
          messages: credentials
            .filter((change) => change.topic === undefined)
            .map(({ id, record }) => ({
              key: id,
              partition: this.partition,
              value: record ? JSON.stringify(record) : null,
              headers: { type: CREDENTIAL_RECORD },
            })),
        },
        {
          // Erasure: the person's key is deleted in the transaction that says so
          // (`staff.erased`). Partitioned by key, as the command service wrote it.
          topic: this.topics.personKeys,
          messages: credentials
            .filter((change) => change.topic === 'person-key')
            .map(({ id }) => ({ key: id, value: null, headers: { type: PERSON_KEY_RECORD } })),
        },
      ].filter((batch) => batch.messages.length > 0);
      // The records first, the offsets after them (with the member, KIP-447): a member
      // that lost its partitions in a rebalance is refused here and aborts, and one that is
      // not refused had its records in the log before the rebalance, where the new owner
      // of their partitions waits for them (PartitionWriters.open). Adding the offsets'
      // partition to the transaction (AddOffsetsToTxn) commits nothing, so it goes beside
      // the records: two of the client's turns off the serial chain where one broker is
      // both coordinator and leader, the whole request where they differ.
      const adding = commandOffset !== undefined ? txn.addOffsets(this.groupId) : undefined;
      const [sent, added] = await Promise.allSettled([
        topicMessages.length > 0 ? txn.sendBatch({ topicMessages }) : undefined,
        adding,
      ]);
      if (sent.status === 'rejected') throw sent.reason;
      if (added.status === 'rejected') throw added.reason;
      if (commandOffset !== undefined) {
        await txn.sendOffsets({
          consumerGroupId: this.groupId,
          topics: [{ topic: this.topics.commands, partitions: [{ partition: this.partition, offset: commandOffset }] }],
          ...member,
        });
      }
      await txn.commit();
    } catch (error) {
      await txn.abort().catch(() => undefined);
      throw error;
    }
    committed?.();
    const contents = events.length === 0 && commandOffset === undefined ? 'feed' : 'decision';
    this.metrics.transactionCommitted(contents, (performance.now() - started) / 1000);
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}

interface CausedError {
  type?: string;
  message?: string;
  cause?: unknown;
}

/** Whether the error, or any error in its cause chain, passes `test` (kafkajs wraps its protocol errors). */
function anyCause(error: unknown, test: (error: CausedError) => boolean): boolean {
  for (let current = error as CausedError | undefined; current; current = current.cause as CausedError | undefined) {
    if (test(current)) return true;
  }
  return false;
}

function isConcurrentTransactions(error: unknown): boolean {
  return anyCause(
    error,
    ({ type, message }) =>
      type === 'CONCURRENT_TRANSACTIONS' || /concurrent operation on the same transaction/.test(message ?? ''),
  );
}

/** Errors that say another writer owns the transactional id or the partition now. */
const FENCING = new Set([
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'FENCED_INSTANCE_ID',
]);

function isFencing(error: unknown): boolean {
  return anyCause(error, ({ type }) => type !== undefined && FENCING.has(type));
}
