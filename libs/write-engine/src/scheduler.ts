/** Scheduler: publishes scheduled communications and expires published ones when their time comes. */
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { SYSTEM_ACTOR, type CommandEnvelope } from '@lastmeter/contracts';
import type { AggregateStore } from './aggregate-store';
import { PartitionDecider } from './partition-decider';
import { PartitionNotAssigned, PartitionWriters } from './partition-writers';
import type { Clock, PartitionWriterPool, SystemDecider } from './ports';
import { dueCommand, type Schedulable } from './schedule';
import { AGGREGATE_STORE, CLOCK } from './write-engine.tokens';

const TICK_MS = 1_000;

/**
 * Publishes scheduled communications when their publishAt comes and expires published
 * ones at expiresAt. The schedule is the event log itself (communication.scheduled), so
 * it survives restarts: whichever instance owns the partition after a restart finds the
 * due items on its next tick. Each run is a normal decision through the partition's
 * writer, with a deterministic command id, so it happens once. A tick walks only the
 * communications that wait for a time (`AggregateStore.timedInPartition`): walking every
 * communication each second took 13% of the command service's CPU profile with 12,000
 * of them (bench/PROFILE.md row 19).
 */
@Injectable()
export class Scheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(Scheduler.name);
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    @Inject(AGGREGATE_STORE) private readonly store: AggregateStore,
    @Inject(PartitionDecider) private readonly decider: SystemDecider,
    @Inject(PartitionWriters) private readonly writers: Pick<PartitionWriterPool, 'owned'>,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass over the owned partitions' communications (every TICK_MS; tests call it). */
  async tick(now = this.clock.now()): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const partition of this.writers.owned()) {
        for (const entry of [...this.store.timedInPartition(partition)]) {
          const state = entry.state as Schedulable;
          const due = dueCommand(state, now.getTime());
          if (!due) continue;
          const commandId = `${due}:${entry.id}:${state.revision}:${entry.version}`;
          const command: CommandEnvelope = {
            commandId,
            requestId: commandId,
            replyTo: '',
            type: due,
            aggregateType: 'communication',
            aggregateId: entry.id,
            expectedVersion: entry.version,
            actor: SYSTEM_ACTOR,
            payload: {},
            commandHash: commandId,
            issuedAt: now.toISOString(),
            correlationId: commandId,
          };
          const decision = await this.decider.decideAsSystem(partition, command);
          if (decision.outcome.ok && decision.events.length > 0) {
            const what = { 'communication.expire': 'expired', 'communication.remind-due': 'reminded of its due time' };
            this.logger.log(`${what[due as keyof typeof what] ?? 'published'} communication ${entry.id}`);
          }
        }
      }
    } catch (error) {
      // A rebalance took a partition away during the tick: its new owner's ticks take it.
      if (error instanceof PartitionNotAssigned) this.logger.debug(`scheduler tick ended early: ${error.message}`);
      else this.logger.warn(`scheduler tick failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
