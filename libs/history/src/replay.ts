import { randomUUID } from 'node:crypto';
import {
  FEED_BATCH,
  parseRecord,
  upcast,
  type DomainEvent,
  type TopicNames,
  type TopicRole,
} from '@lastmeter/contracts';
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
/**
 * Fetch sizes. A fetch response is held whole in memory, so `FETCH_MAX_BYTES` is what one
 * replay may have in flight, and a gateway runs several replays (REPLAY_MAX_PER_GATEWAY,
 * 8 by default: 64 MiB at most, where 64 MiB per replay allowed 512 MiB). Per partition,
 * 1 MiB is about PARTITION_HIGH_WATER events of the log (~1 KB each): more would be
 * dropped at the high-water mark and fetched again after resume, so 2 MiB mostly fetched
 * bytes twice. 8 MiB covers 8 partitions per round trip; the others come in the next
 * fetches (paused partitions are not fetched), which on a local broker take milliseconds,
 * while parsing 8 MiB of events takes about 100 ms: the fetch size is not what limits
 * throughput (bench/replay.bench.ts; docs/history.md).
 */
const FETCH_MAX_BYTES = 8 * 1024 * 1024;
const FETCH_MAX_BYTES_PER_PARTITION = 1024 * 1024;
/** A replay's consumer group is named `<events topic>.replay.<uuid>`. */
const GROUP_INFIX = '.replay.';
/**
 * A group whose member did not leave (its consumer failed to disconnect) is removed by the
 * broker only after the session timeout; deleting it is retried until then.
 */
const SESSION_TIMEOUT_MS = 60_000;

export interface ReplayOptions {
  /**
   * Aborting stops the replay within moments: the generator returns (a pending `next()`
   * resolves done), its consumer disconnects and its consumer group is deleted.
   */
  signal?: AbortSignal;
}

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

  async *events(
    filter: ReplayFilter,
    onProgress?: (progress: ReplayProgress) => void,
    options: ReplayOptions = {},
  ): AsyncGenerator<DomainEvent> {
    for await (const { event } of this.entries(filter, onProgress, options)) yield event;
  }

  /**
   * The same stream with each event's JSON line: the logged bytes themselves when the
   * event is already at the current schema (no parse-and-stringify round trip on the
   * way out), otherwise the upcast event serialized.
   *
   * Every replay reads through a consumer group of its own (kafkajs has no manual
   * assignment); it commits no offsets and is deleted when the replay ends, however it
   * ends.
   */
  async *entries(
    filter: ReplayFilter,
    onProgress?: (progress: ReplayProgress) => void,
    { signal }: ReplayOptions = {},
  ): AsyncGenerator<ReplayedEvent> {
    if (signal?.aborted) return;
    const admin = this.kafka.admin();
    await admin.connect();
    let consumer: Consumer | undefined;
    const groupId = `${this.topics.events}${GROUP_INFIX}${randomUUID()}`;
    const signals = new Signals();
    const wake = () => signals.wake();
    signal?.addEventListener('abort', wake);
    try {
      const states = await this.plan(admin, filter);
      if (signal?.aborted) return;
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
          groupId,
          readUncommitted: false,
          sessionTimeout: SESSION_TIMEOUT_MS,
          heartbeatInterval: 3_000,
          // History is all there: fetch a lot at once so no partition's buffer runs dry
          // (the merge waits for every partition that could still have an earlier event).
          maxWaitTimeInMs: 20,
          maxBytes: FETCH_MAX_BYTES,
          maxBytesPerPartition: FETCH_MAX_BYTES_PER_PARTITION,
        });
        const active = consumer;
        // Batches of only transaction markers or aborted records never reach eachBatch.
        active.on(active.events.END_BATCH_PROCESS, ({ payload }) => {
          const state = byKey.get(`${payload.topic}/${payload.partition}`);
          if (!state || payload.batchSize > 0) return;
          state.position = Math.max(state.position, Math.min(Number(payload.lastOffset) + 1, state.end));
          signals.wake();
        });
        // Before run(): a consumer that crashes while joining its group fails the replay.
        active.on(active.events.CRASH, ({ payload }) => {
          failure = payload.error;
          signals.wake();
        });
        await active.connect();
        if (signal?.aborted) return;
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
              let events: Array<{ event: DomainEvent; json: string }>;
              try {
                const text = message.value?.toString('utf8') ?? 'null';
                // One envelope is served as logged (its own bytes) unless upcast; a feed
                // batch's entries are serialized one by one.
                const batch = message.headers?.type?.toString() === FEED_BATCH;
                events = parseRecord(text).map((logged) => {
                  const event = upcast(logged);
                  const asLogged = !batch && logged.schemaVersion === event.schemaVersion && !text.includes('\n');
                  return { event, json: asLogged ? text : JSON.stringify(event) };
                });
              } catch {
                continue; // The projector's DLQ is where malformed messages are reported.
              }
              for (const entry of events) {
                if (!matches(entry.event, filter)) continue;
                state.buffer.push(entry);
                matched++;
              }
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
        if (failure) throw failure;
        for (const state of states) {
          if (state.position < state.end)
            active.seek({ topic: state.topic, partition: state.partition, offset: String(state.position) });
        }
      }

      // The merge.
      for (;;) {
        if (signal?.aborted) return;
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
      signal?.removeEventListener('abort', wake);
      if (consumer) {
        await consumer.disconnect().catch(() => undefined);
        // The group is empty now that its only member left; left alone it would stay listed
        // on the broker (kafka-consumer-groups --list, every admin's listGroups) until the
        // coordinator's periodic expiry removes it.
        if ((await deleteGroups(admin, [groupId]).catch(() => [groupId])).length > 0) this.deleteLater(groupId);
      }
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * Deletes the consumer groups of replays that are over but left their group behind (a
   * process that died mid-replay). Groups with members, live replays, are left alone.
   * Returns the groups deleted.
   */
  async deleteLeftoverGroups(): Promise<string[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const prefix = `${this.topics.events}${GROUP_INFIX}`;
      const { groups } = await admin.listGroups();
      const leftovers = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
      if (leftovers.length === 0) return [];
      const kept = await deleteGroups(admin, leftovers);
      return leftovers.filter((id) => !kept.includes(id));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** A group whose member is still registered: retried until the session timeout removed it. */
  private deleteLater(groupId: string, startedAt = Date.now()): void {
    setTimeout(() => {
      const admin = this.kafka.admin();
      void admin
        .connect()
        .then(() => deleteGroups(admin, [groupId]))
        .catch(() => [groupId])
        .then((kept) => {
          if (kept.length > 0 && Date.now() - startedAt < SESSION_TIMEOUT_MS + 10_000)
            this.deleteLater(groupId, startedAt);
        })
        .finally(() => admin.disconnect().catch(() => undefined));
    }, 5_000).unref();
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

/**
 * Deletes consumer groups; returns those still there because they have members (or
 * whose deletion failed for another reason). A group already gone counts as deleted.
 */
async function deleteGroups(admin: Admin, groupIds: string[]): Promise<string[]> {
  try {
    await admin.deleteGroups(groupIds);
    return [];
  } catch (error) {
    const failed = (error as { groups?: Array<{ groupId: string; error?: { type?: string } }> }).groups;
    if (!failed) throw error;
    return failed.filter((g) => g.error?.type !== 'GROUP_ID_NOT_FOUND').map((g) => g.groupId);
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
