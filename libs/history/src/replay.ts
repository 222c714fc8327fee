import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { DomainEvent, TopicNames, TopicRole } from '@lastmeter/contracts';
import { OPEN_TRANSACTIONS_WAIT_MS, untilStable, type Admin, type Consumer, type Kafka } from '@lastmeter/kafka';
import { recordSkipper, toWire, type ReplayFilter } from './replay-filter';
import { recordParser, type RecordParser } from './replay-parser';
import { PersonalFieldOpener, type PersonKeyLookup } from './personal-fields';
import { packRecords, ParsedLines } from './replay-records';

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
 * Parsing threads by default: one per core but the reading thread's, at least 2 and at
 * most 4. On 2 cores, two workers replayed 135k events/s where one did 110–120k: a batch
 * waiting for the only worker held the merge up (bench/PROFILE.md). They run at a lower
 * priority than the gateway's event loop (replay-parser.ts), so live fan-out comes first.
 */
export function defaultReplayWorkers(): number {
  return Math.min(4, Math.max(2, availableParallelism() - 1));
}

/**
 * Kafka's record timestamps are set by the producer a moment after `occurredAt`; seeking
 * by time starts this much earlier (and stops this much later) and filters on occurredAt.
 */
const CLOCK_SLACK_MS = 60_000;
/**
 * Records at the parser plus parsed lines a partition may hold before reading it pauses.
 * Only a partition with nothing parsed can hold the merge up, so pausing full ones never
 * deadlocks, and memory stays below partitions × (PARTITION_HIGH_WATER + one fetched
 * batch) whatever the reader's pace.
 */
const PARTITION_HIGH_WATER = 1_000;
/**
 * Fetch sizes. A fetch response is held whole in memory, so `FETCH_MAX_BYTES` is what one
 * replay may have in flight, and a gateway runs several replays (REPLAY_MAX_PER_GATEWAY,
 * 8 by default: 64 MiB at most). Per partition, 1 MiB is about PARTITION_HIGH_WATER
 * events of the log (~1 KB each). 8 MiB covers 8 partitions per round trip; the others
 * come in the next fetches (paused partitions are not fetched), which on a local broker
 * take milliseconds. Larger fetches (16 and 32 MiB, 2 MiB per partition, with a higher
 * high-water mark) replayed no faster (bench/PROFILE.md row 13).
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

export interface LogReplayOptions {
  /**
   * Worker threads that parse records (REPLAY_WORKERS), shared by every replay of this
   * LogReplay; 0 parses on the calling thread.
   */
  workers?: number;
  /**
   * Where persons' keys are (the Redis mirror of lastmeter.person-keys.v1): with it, sealed
   * names and notes are opened on the way out, or shown erased (personal-fields.ts).
   * Without it they stay as the log holds them (benchmarks of the bare reader).
   */
  personKeys?: PersonKeyLookup;
}

/** About the size of one NDJSON chunk handed out (a line longer than this is a chunk alone). */
const CHUNK_BYTES = 64 * 1024;

/** One fetched batch of a partition, sent to the parser; `lines` once it is parsed. */
interface Slot {
  /** Records sent (counted against the high-water mark until parsed). */
  records: number;
  lines?: ParsedLines;
}

interface PartitionState {
  paused: boolean;
  role: TopicRole;
  topic: string;
  partition: number;
  start: number;
  end: number;
  position: number;
  /** Batches in log order, parsed or still at the parser. */
  slots: Slot[];
  /** Records at the parser plus lines parsed and not yet handed out. */
  buffered: number;
}

/**
 * Streams the events of the log that match a filter, in log order per partition and,
 * across partitions, by occurredAt: a k-way merge that hands out the earliest head among
 * the partitions, waiting for a partition that has no parsed event yet until it has one
 * or has been read to its end. Reading starts at the offsets Kafka gives for `from`
 * (offsets-for-times) and ends at the offsets for `to` (or the end of the log when the
 * replay starts), so a narrow window reads little of a long log.
 *
 * The thread that reads Kafka only moves bytes: a record that the filter rejects by its
 * type header or bytes is dropped unparsed (`recordSkipper`), the others go to the parser
 * one fetched batch at a time, by default worker threads (replay-parser.ts), which answer
 * with NDJSON lines (replay-records.ts). Memory is bounded: reading a partition pauses
 * while PARTITION_HIGH_WATER of its records or lines wait for the reader. Old schema
 * versions are upcast on the way out.
 */
export class LogReplay {
  private readonly parser: RecordParser;
  private readonly personKeys?: PersonKeyLookup;

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: TopicNames,
    { workers = defaultReplayWorkers(), personKeys }: LogReplayOptions = {},
  ) {
    this.parser = recordParser(workers);
    this.personKeys = personKeys;
  }

  /** Stops the parsing threads (they also stop on their own when idle). */
  close(): Promise<void> {
    return this.parser.close();
  }

  /** The matching events, parsed (for callers that need objects: CSV, tests). */
  async *events(
    filter: ReplayFilter,
    onProgress?: (progress: ReplayProgress) => void,
    options: ReplayOptions = {},
  ): AsyncGenerator<DomainEvent> {
    for await (const chunk of this.chunks(filter, onProgress, options)) {
      const text = chunk.toString('utf8');
      for (let start = 0, end = text.indexOf('\n'); end !== -1; start = end + 1, end = text.indexOf('\n', start)) {
        yield JSON.parse(text.slice(start, end)) as DomainEvent;
      }
    }
  }

  /**
   * The same stream as NDJSON, in chunks of whole lines (about CHUNK_BYTES each, smaller
   * when the merge has to wait for Kafka): each line is the logged bytes themselves when
   * the event is already at the current schema, otherwise the upcast event serialized.
   * Sealed personal fields are opened (or shown erased) when the replay has `personKeys`.
   *
   * Every replay reads through a consumer group of its own (kafkajs has no manual
   * assignment); it commits no offsets and is deleted when the replay ends, however it
   * ends.
   */
  async *chunks(
    filter: ReplayFilter,
    onProgress?: (progress: ReplayProgress) => void,
    options: ReplayOptions = {},
  ): AsyncGenerator<Buffer> {
    const opener = this.personKeys && new PersonalFieldOpener(this.personKeys);
    // Only a chunk with a sealed field needs opening (the parser flags its batches).
    for await (const { bytes, sealed } of this.loggedChunks(filter, onProgress, options))
      yield opener && sealed ? await opener.open(bytes) : bytes;
  }

  /** `chunks` as the log holds them: the read, the parsing and the merge. */
  private async *loggedChunks(
    filter: ReplayFilter,
    onProgress?: (progress: ReplayProgress) => void,
    { signal }: ReplayOptions = {},
  ): AsyncGenerator<MergedChunk> {
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
      const wire = toWire(filter);
      const skip = recordSkipper(wire);
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
          // History is all there: fetch a lot at once so no partition runs dry (the merge
          // waits for every partition that could still have an earlier event).
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
          partitionsConsumedConcurrently: 3,
          eachBatch: async ({ batch }) => {
            const state = byKey.get(`${batch.topic}/${batch.partition}`);
            if (!state) return;
            const values: Buffer[] = [];
            for (const message of batch.messages) {
              const offset = Number(message.offset);
              if (offset < state.position) continue;
              if (offset >= state.end) break;
              read++;
              state.position = offset + 1;
              const value = message.value;
              if (!value || (skip && skip(message.headers?.type?.toString(), value))) continue;
              values.push(value);
            }
            state.position = Math.max(state.position, Math.min(Number(batch.lastOffset()) + 1, state.end));
            if (state.position >= state.end) active.pause([{ topic: state.topic, partitions: [state.partition] }]);
            if (values.length > 0) {
              // The batch goes to the parser; the next fetch does not wait for it.
              const slot: Slot = { records: values.length };
              state.slots.push(slot);
              state.buffered += slot.records;
              if (state.buffered >= PARTITION_HIGH_WATER && state.position < state.end) {
                state.paused = true;
                active.pause([{ topic: state.topic, partitions: [state.partition] }]);
              }
              this.parser.parse(packRecords(values), wire).then(
                (parsed) => {
                  slot.lines = new ParsedLines(parsed);
                  state.buffered += slot.lines.count - slot.records;
                  matched += slot.lines.count;
                  signals.wake();
                },
                (error: Error) => {
                  failure = error;
                  signals.wake();
                },
              );
            }
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
      let open = states;
      const out = new OutputChunk();
      for (;;) {
        if (signal?.aborted) return;
        if (failure) throw failure;
        open = open.filter((s) => s.slots.length > 0 || s.position < s.end);
        if (open.length === 0) break;
        // Hand out lines for as long as every open partition has a parsed one: the earliest
        // head (the first partition in `open` on a tie), and after it the same partition's
        // next lines for as long as they still come before the runner-up's head.
        let ready = true;
        while (ready) {
          let next = -1;
          let nextAt = Infinity;
          let runnerUp = -1;
          let runnerUpAt = Infinity;
          for (let i = 0; i < open.length; i++) {
            const state = open[i];
            let slot = state.slots[0];
            while (slot?.lines && slot.lines.remaining === 0) {
              state.slots.shift();
              slot = state.slots[0];
            }
            if (!slot?.lines) {
              if (slot || state.position < state.end) ready = false;
              continue;
            }
            const at = slot.lines.head;
            if (at < nextAt) {
              [runnerUp, runnerUpAt] = [next, nextAt];
              [next, nextAt] = [i, at];
            } else if (at < runnerUpAt) [runnerUp, runnerUpAt] = [i, at];
          }
          if (!ready || next === -1) break;
          const state = open[next];
          const lines = state.slots[0].lines!;
          while (lines.remaining > 0 && (lines.head < runnerUpAt || (lines.head === runnerUpAt && next < runnerUp))) {
            if (!out.add(lines)) {
              if (!out.empty) {
                yield out.take();
                continue; // the same line, into the new chunk
              }
              yield { bytes: lines.takeNext(), sealed: lines.sealed };
            }
            state.buffered--;
            if (out.full) yield out.take();
          }
          if (state.paused && state.buffered < PARTITION_HIGH_WATER / 2) {
            state.paused = false;
            consumer?.resume([{ topic: state.topic, partitions: [state.partition] }]);
          }
        }
        if (!ready) {
          // What is merged so far goes out while the slowest partition is fetched or parsed.
          if (!out.empty) yield out.take();
          await signals.wait();
        }
      }
      if (!out.empty) yield out.take();
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
      // The end is the log as of now, with what was committed and answered for just before
      // (its markers may not be written yet): a transaction open now is waited for, up to 5 s.
      const ends = await untilStable(this.kafka, admin, topic, OPEN_TRANSACTIONS_WAIT_MS);
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
          slots: [],
          buffered: 0,
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

/** Whole lines handed out at once, and whether one holds a sealed personal field. */
interface MergedChunk {
  bytes: Buffer;
  sealed: boolean;
}

/** The merge's output buffer: whole lines copied in until it is (nearly) full. */
class OutputChunk {
  private bytes = Buffer.allocUnsafe(CHUNK_BYTES);
  private length = 0;
  private sealed = false;

  get empty(): boolean {
    return this.length === 0;
  }

  get full(): boolean {
    return this.length >= CHUNK_BYTES - 1_024;
  }

  /** Copies the next line of `lines` in; false if it does not fit (then nothing is taken). */
  add(lines: ParsedLines): boolean {
    const copied = lines.copyNext(this.bytes, this.length);
    if (copied < 0) return false;
    this.length += copied;
    this.sealed ||= lines.sealed;
    return true;
  }

  /** What is in, handed out; the next lines go into a new buffer. */
  take(): MergedChunk {
    const chunk = { bytes: this.bytes.subarray(0, this.length), sealed: this.sealed };
    this.bytes = Buffer.allocUnsafe(CHUNK_BYTES);
    this.length = 0;
    this.sealed = false;
    return chunk;
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
