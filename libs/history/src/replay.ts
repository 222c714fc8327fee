import { randomUUID } from 'node:crypto';
import { parseEnvelope, upcast, type DomainEvent, type TopicNames, type TopicRole } from '@lastmeter/contracts';
import type { Admin, Consumer, Kafka } from '@lastmeter/kafka';

/** What an analyst asks for; every part is optional and they combine with AND. */
export interface ReplayFilter {
  /** occurredAt >= from */
  from?: Date;
  /** occurredAt <= to */
  to?: Date;
  types?: string[];
  aggregateId?: string;
  /** Facts about one store: its own events, its terminals', its feed and its activity. */
  storeId?: string;
}

export interface ReplayProgress {
  /** Messages read from Kafka so far. */
  read: number;
  /** Events that matched and were handed out. */
  matched: number;
  /** Share of the offset range read, 0..1. */
  fraction: number;
}

/** The topics a replay reads: every fact of the log. */
export const REPLAYED: readonly TopicRole[] = ['events', 'storeEvents', 'feed'];

/**
 * Kafka's record timestamps are set by the producer a moment after `occurredAt`; seeking
 * by time starts this much earlier (and stops this much later) and filters on occurredAt.
 */
const CLOCK_SLACK_MS = 60_000;
/**
 * Matching events a partition may hold before reading it pauses. Only a partition with an
 * empty buffer can hold the merge up, so pausing full ones never deadlocks, and memory
 * stays below partitions × PARTITION_HIGH_WATER events whatever the reader's pace.
 */
const PARTITION_HIGH_WATER = 1_000;

/** An event and its NDJSON line (the bytes as logged when no upcast changed them). */
export interface ReplayedEvent {
  event: DomainEvent;
  json: string;
}

interface PartitionState {
  paused: boolean;
  role: TopicRole;
  topic: string;
  partition: number;
  start: number;
  end: number;
  position: number;
  buffer: ReplayedEvent[];
}

export function matches(event: DomainEvent, filter: ReplayFilter): boolean {
  const at = Date.parse(event.occurredAt);
  if (filter.from && at < filter.from.getTime()) return false;
  if (filter.to && at > filter.to.getTime()) return false;
  if (filter.types?.length && !filter.types.includes(event.type)) return false;
  if (filter.aggregateId && event.aggregateId !== filter.aggregateId) return false;
  if (filter.storeId && storeOf(event) !== filter.storeId) return false;
  return true;
}

/** The store an event is about, if any. */
export function storeOf(event: DomainEvent): string | undefined {
  if (event.aggregateType === 'store') return event.aggregateId;
  const data = event.data as { storeId?: unknown };
  return typeof data.storeId === 'string' ? data.storeId : undefined;
}

/**
 * Streams the events of the log that match a filter, in log order per partition and,
 * across partitions, by occurredAt: a k-way merge that hands out the earliest head among
 * the partitions, waiting for a partition that has no buffered event yet until it has
 * one or has been read to its end. Reading starts at the offsets Kafka gives for
 * `from` (offsets-for-times) and ends at the offsets for `to` (or the end of the log when
 * the replay starts), so a narrow window reads little of a long log. Memory is bounded:
 * reading a partition pauses while PARTITION_HIGH_WATER of its events wait for the reader.
 * Old schema versions are upcast on the way out.
 */
export class LogReplay {
  constructor(
    private readonly kafka: Kafka,
    private readonly topics: TopicNames,
  ) {}

  async *events(filter: ReplayFilter, onProgress?: (progress: ReplayProgress) => void): AsyncGenerator<DomainEvent> {
    for await (const { event } of this.entries(filter, onProgress)) yield event;
  }

  /**
   * The same stream with each event's JSON line: the logged bytes themselves when the
   * event is already at the current schema (no parse-and-stringify round trip on the
   * way out), otherwise the upcast event serialized.
   */
  async *entries(filter: ReplayFilter, onProgress?: (progress: ReplayProgress) => void): AsyncGenerator<ReplayedEvent> {
    const admin = this.kafka.admin();
    await admin.connect();
    let consumer: Consumer | undefined;
    const signals = new Signals();
    try {
      const states = await this.plan(admin, filter);
      const byKey = new Map(states.map((s) => [`${s.topic}/${s.partition}`, s]));
      const totalRange = states.reduce((n, s) => n + (s.end - s.start), 0);
      let read = 0;
      let matched = 0;
      let failure: Error | undefined;
      const progress = () =>
        onProgress?.({
          read,
          matched,
          fraction: totalRange === 0 ? 1 : states.reduce((n, s) => n + (s.position - s.start), 0) / totalRange,
        });

      if (states.some((s) => s.position < s.end)) {
        consumer = this.kafka.consumer({
          groupId: `${this.topics.events}.replay.${randomUUID()}`,
          readUncommitted: false,
          sessionTimeout: 60_000,
          heartbeatInterval: 3_000,
          // History is all there: fetch a lot at once so no partition's buffer runs dry
          // (the merge waits for every partition that could still have an earlier event).
          maxWaitTimeInMs: 20,
          maxBytes: 64 * 1024 * 1024,
          maxBytesPerPartition: 2 * 1024 * 1024,
        });
        const active = consumer;
        // Batches of only transaction markers or aborted records never reach eachBatch.
        active.on(active.events.END_BATCH_PROCESS, ({ payload }) => {
          const state = byKey.get(`${payload.topic}/${payload.partition}`);
          if (!state || payload.batchSize > 0) return;
          state.position = Math.max(state.position, Math.min(Number(payload.lastOffset) + 1, state.end));
          signals.wake();
        });
        await active.connect();
        await active.subscribe({ topics: REPLAYED.map((role) => this.topics[role]), fromBeginning: true });
        await active.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 3,
          eachBatch: async ({ batch, resolveOffset }) => {
            const state = byKey.get(`${batch.topic}/${batch.partition}`);
            if (!state) return;
            let complete = true;
            for (const message of batch.messages) {
              const offset = Number(message.offset);
              if (offset < state.position) {
                resolveOffset(message.offset);
                continue;
              }
              if (offset >= state.end) break;
              read++;
              state.position = offset + 1;
              resolveOffset(message.offset);
              let event: DomainEvent;
              let json: string;
              try {
                const text = message.value?.toString('utf8') ?? 'null';
                const logged = parseEnvelope(text);
                event = upcast(logged);
                json =
                  logged.schemaVersion === event.schemaVersion && !text.includes('\n') ? text : JSON.stringify(event);
              } catch {
                continue; // The projector's DLQ is where malformed messages are reported.
              }
              if (!matches(event, filter)) continue;
              state.buffer.push({ event, json });
              matched++;
              if (state.buffer.length >= PARTITION_HIGH_WATER) {
                // Backpressure: the rest of the batch is fetched again after resume.
                state.paused = true;
                active.pause([{ topic: state.topic, partitions: [state.partition] }]);
                complete = false;
                break;
              }
            }
            if (complete)
              state.position = Math.max(state.position, Math.min(Number(batch.lastOffset()) + 1, state.end));
            if (state.position >= state.end) active.pause([{ topic: state.topic, partitions: [state.partition] }]);
            progress();
            signals.wake();
          },
        });
        for (const state of states) {
          if (state.position < state.end)
            active.seek({ topic: state.topic, partition: state.partition, offset: String(state.position) });
        }
        active.on(active.events.CRASH, ({ payload }) => {
          failure = payload.error;
          signals.wake();
        });
      }

      // The merge.
      for (;;) {
        if (failure) throw failure;
        const open = states.filter((s) => s.buffer.length > 0 || s.position < s.end);
        if (open.length === 0) break;
        if (open.some((s) => s.buffer.length === 0)) {
          await signals.wait();
          continue;
        }
        let next = open[0];
        for (const state of open) {
          if (state.buffer[0].event.occurredAt < next.buffer[0].event.occurredAt) next = state;
        }
        const entry = next.buffer.shift()!;
        if (next.paused && next.buffer.length < PARTITION_HIGH_WATER / 2) {
          next.paused = false;
          consumer?.resume([{ topic: next.topic, partitions: [next.partition] }]);
        }
        yield entry;
      }
      progress();
    } finally {
      await consumer?.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Where each partition starts and ends for this filter. */
  private async plan(admin: Admin, filter: ReplayFilter): Promise<PartitionState[]> {
    const states: PartitionState[] = [];
    for (const role of REPLAYED) {
      const topic = this.topics[role];
      const ends = await admin.fetchTopicOffsets(topic);
      const starts = filter.from
        ? await admin.fetchTopicOffsetsByTimestamp(topic, filter.from.getTime() - CLOCK_SLACK_MS)
        : undefined;
      const stops = filter.to
        ? await admin.fetchTopicOffsetsByTimestamp(topic, filter.to.getTime() + CLOCK_SLACK_MS)
        : undefined;
      for (const { partition, offset, low } of ends) {
        const last = Number(offset);
        // offsets-for-times answers -1 (or the end) when nothing is that late.
        const byTime = (entries: typeof starts, fallback: number) => {
          const found = Number(entries?.find((e) => e.partition === partition)?.offset ?? fallback);
          return found < 0 ? last : Math.min(found, last);
        };
        const start = Math.max(Number(low), starts ? byTime(starts, Number(low)) : Number(low));
        const end = stops ? byTime(stops, last) : last;
        states.push({
          role,
          topic,
          partition,
          start,
          end: Math.max(start, end),
          position: start,
          buffer: [],
          paused: false,
        });
      }
    }
    return states;
  }
}

/** Wake-ups from the Kafka side (data arrived, a partition ended) to the merge. */
class Signals {
  private waiters: Array<() => void> = [];

  wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
  }

  /** Resolves on the next wake, or after a second (a missed wake only costs that). */
  wait(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
