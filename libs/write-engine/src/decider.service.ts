/** Decider service: the consumer group over the commands topic that feeds the PartitionDecider. */
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { TopicNames } from '@lastmeter/contracts';
import {
  FOLLOW_MAX_WAIT_MS,
  joinedMember,
  KAFKA,
  partitionCount,
  TOPIC_NAMES,
  TopicsBootstrap,
  type Consumer,
  type Kafka,
} from '@lastmeter/kafka';
import { EventTail } from './event-tail';
import { PartitionDecider } from './partition-decider';
import { PartitionWriters, type Fence } from './partition-writers';
import type { InRequestDecider } from './ports';
import { IN_REQUEST_DECIDER } from './write-engine.tokens';

/** How long a crashed decider waits before it joins the group again. */
const REJOIN_DELAY_MS = 1_000;

/**
 * How long a writer fenced outside a rebalance waits for one before the decider leaves
 * the group and joins again. A new owner fences only after a rebalance without this
 * instance, which its consumer learns at its next heartbeat (1 s) and joins again
 * (PartitionWriters.reassign); this is longer than the session timeout (6 s) plus that.
 */
export const FENCED_GRACE_MS = 10_000;

/**
 * The single writer (docs/design.md section 4): a consumer group over the commands
 * topic. Kafka assigns each partition to one instance; this service opens the writers of
 * its partitions on every assignment and hands each fetched batch to the
 * PartitionDecider, then resolves only the offsets that were committed.
 */
@Injectable()
export class DeciderService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeciderService.name);
  private consumer?: Consumer;
  /** The consumer being left (disconnected) to join again: one rejoin per consumer. */
  private leaving?: Consumer;
  private stopping = false;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    private readonly topicsBootstrap: TopicsBootstrap,
    private readonly tail: EventTail,
    private readonly writers: PartitionWriters,
    private readonly decider: PartitionDecider,
    /** Present when COMMAND_DECIDE_IN_REQUEST is on: only then are the partitions read. */
    @Optional() @Inject(IN_REQUEST_DECIDER) private readonly inRequest?: InRequestDecider,
  ) {
    writers.onFenced((fence) => this.fenced(fence));
  }

  onApplicationBootstrap(): void {
    void this.start();
  }

  /**
   * Reads the log, then joins the decider group. A start that fails (Kafka or Redis
   * unreachable a moment) is tried again, 1 s … 30 s apart: the instance keeps serving
   * HTTP meanwhile, and a decider that never started would leave every command pending.
   */
  private async start(attempt = 0): Promise<void> {
    try {
      await this.topicsBootstrap.ready();
      await this.tail.start();
      await this.learnPartitions();
      await this.run();
    } catch (error) {
      // Shut down while still starting (Ctrl-C during start-up): not a failure.
      if (this.stopping) {
        this.logger.debug(`start-up interrupted by shutdown: ${(error as Error).message}`);
        return;
      }
      const delay = Math.min(1_000 * 2 ** attempt, 30_000);
      this.logger.error(`decider not running (${(error as Error).message}); trying again in ${delay} ms`);
      setTimeout(() => {
        if (!this.stopping) void this.start(attempt + 1);
      }, delay).unref();
    }
  }

  /** The commands topic's partitions: the decider needs them to decide commands in their request. */
  private async learnPartitions(): Promise<void> {
    if (!this.inRequest || this.decider.commandPartitions !== undefined) return;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      this.decider.commandPartitions = await partitionCount(admin, this.topics.commands);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Joins the decider group with a new consumer and decides what it is assigned. */
  private async run(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.writers.groupId,
      readUncommitted: false,
      // The broker's minimum: a crashed owner's partitions move on after 6 s.
      sessionTimeout: 6_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: FOLLOW_MAX_WAIT_MS,
      // After a retriable crash kafkajs disconnects the consumer and restarts it a moment
      // later, also one this service is leaving (a crash while `leave` disconnects it): the
      // instance would then be in the group twice, its two consumers' assignments
      // replacing each other's writers. Only the current consumer is restarted.
      retry: { retries: 5, restartOnFailure: async () => this.isCurrent(consumer) },
    });
    this.consumer = consumer;
    // After any rebalance the partitions may have had another writer: re-fence and catch
    // up before deciding again.
    // Open the assigned partitions' writers now, not at their next command: the
    // scheduler and the feed sequencer need them, and fencing + catch-up should not
    // delay the first request.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (!this.isCurrent(consumer)) {
        // Left already (restarted before restartOnFailure could say no): out of the group.
        this.logger.warn('a decider consumer this instance left joined the group again: disconnecting it');
        void consumer.disconnect().catch(() => undefined);
        return;
      }
      const partitions = payload.memberAssignment[this.topics.commands] ?? [];
      const member = joinedMember(payload);
      // One line per rebalance: which partitions this instance writes, in which generation.
      this.logger.log(
        `joined the decider group (generation ${member?.generationId ?? '?'}): partitions ${partitions.join(', ') || 'none'}`,
      );
      this.writers.reassign(partitions, member);
    });
    // kafkajs restarts a crashed consumer only after a retriable error. A decider whose
    // producers were fenced (paused past its session timeout, its partitions moved on:
    // "old epoch") stopped for good, its instance still serving HTTP; it drops its stale
    // writers and joins the group again instead, as a new member.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) return;
      this.leave(consumer, `decider stopped (${payload.error.message})`);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.topics.commands, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 12,
        eachBatch: async ({ batch, isRunning, isStale, resolveOffset, heartbeat }) => {
          if (batch.isEmpty() || !this.isCurrent(consumer)) return;
          const last = await this.decider.decideBatch(batch.partition, batch.messages, () => isRunning() && !isStale());
          // Only what was committed is resolved: kafkajs fetches the rest again.
          if (last !== undefined) resolveOffset(last);
          await heartbeat();
        },
      });
    } catch (error) {
      // A start that failed half-way (broker gone during a rejoin) leaves no connections
      // behind: the next attempt makes a new consumer.
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /**
   * A writer was fenced (PartitionWriters.onFenced). After a rebalance that this instance
   * is part of, its writers of that assignment are dropped anyway. If no rebalance came
   * within FENCED_GRACE_MS, the transaction coordinator fenced it (a transaction open past
   * its timeout, broker trouble) while this instance kept its partitions: the writer would
   * stay fenced, its partition's feed unsequenced, until some later rebalance. The
   * decider leaves the group and joins again: an assignment opens new writers, a new epoch.
   * A writer in doubt after a failed transaction (not fenced) leaves at once.
   */
  private fenced({ partition, assignment, error, inDoubt }: Fence): void {
    if (assignment !== this.writers.assignment) return;
    // A writer in doubt takes no more transactions, and may not take a new epoch itself
    // (it would fence the new owner if this instance is a zombie): only a new assignment
    // opens a new one, so join again now.
    if (inDoubt && this.consumer) {
      this.leave(
        this.consumer,
        `partition ${partition}'s writer is in doubt after a failed transaction (${(error as Error).message})`,
      );
      return;
    }
    setTimeout(() => {
      const consumer = this.consumer;
      if (assignment !== this.writers.assignment || !consumer) return;
      this.leave(
        consumer,
        `partition ${partition}'s writer was fenced (${(error as Error).message}) and no rebalance followed`,
      );
    }, FENCED_GRACE_MS).unref();
  }

  /** Whether `consumer` is the one this service decides with: not one it left or replaced, nor shut down. */
  private isCurrent(consumer: Consumer): boolean {
    return !this.stopping && this.consumer === consumer && this.leaving !== consumer;
  }

  /** Drops the writers, disconnects `consumer` (it leaves the group) and joins again with a new one. */
  private leave(consumer: Consumer, reason: string): void {
    if (this.stopping || this.leaving === consumer) return;
    this.leaving = consumer;
    this.logger.warn(`${reason}: joining the decider group again`);
    this.writers.reassign([]);
    void consumer
      .disconnect()
      .catch(() => undefined)
      .then(() => this.rejoin());
  }

  private rejoin(): void {
    setTimeout(() => {
      if (this.stopping) return;
      this.run().catch((error: unknown) => {
        this.logger.warn(`decider not back in its group yet: ${(error as Error).message}`);
        this.rejoin();
      });
    }, REJOIN_DELAY_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
