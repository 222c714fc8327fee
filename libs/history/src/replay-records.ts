import {
  CURRENT_SCHEMA_VERSIONS,
  FEED_BATCH,
  parseRecord,
  upcast,
  type DomainEvent,
  type EventEnvelope,
  type EventType,
} from '@lastmeter/contracts';
import { matchesWire, type WireFilter } from './replay-filter';
import { sealedOf, type Replayed } from './sealed-fields';

/**
 * The two buffers a replay hands between its reading thread and its parsing worker. Each
 * is one ArrayBuffer, so it moves between threads without a copy (a transfer).
 *
 * Records (reader → parser):  u32 count | u32 end of each record × count | the record bytes
 * Lines (parser → reader):    u32 count | u32 records read | u32 1 if a line holds a sealed
 *                             personal field | u32 0 | f64 occurredAt (ms) × count |
 *                             u32 end of each line × count | the NDJSON lines, each with its '\n'
 */
const LINES_HEADER_BYTES = 16;

const NEWLINE = 0x0a;

/** Packs the values of log records (Kafka message values) into one transferable buffer. */
export function packRecords(values: readonly Buffer[]): ArrayBuffer {
  const count = values.length;
  let size = 0;
  for (const value of values) size += value.length;
  const packed = new ArrayBuffer(4 + 4 * count + size);
  const header = new Uint32Array(packed, 0, 1 + count);
  const bytes = new Uint8Array(packed, 4 + 4 * count);
  header[0] = count;
  let at = 0;
  for (let i = 0; i < count; i++) {
    bytes.set(values[i], at);
    at += values[i].length;
    header[1 + i] = at;
  }
  return packed;
}

function unpackRecords(packed: ArrayBuffer): Buffer[] {
  const count = new Uint32Array(packed, 0, 1)[0];
  const ends = new Uint32Array(packed, 4, count);
  const bytes = Buffer.from(packed, 4 + 4 * count);
  const records: Buffer[] = [];
  for (let i = 0, start = 0; i < count; start = ends[i], i++) records.push(bytes.subarray(start, ends[i]));
  return records;
}

/**
 * The events of packed records that match the filter, each as its NDJSON line with its
 * occurredAt, in record order. Pure and synchronous: it runs in a replay worker
 * (replay-worker.ts) or, with REPLAY_WORKERS=0, on the reading thread.
 *
 * - A line is the logged bytes themselves when the record is one event already at the
 *   current schema (no stringify on the way out); an upcast event (which is how v1
 *   credential fields are dropped, docs/security.md) or a feed batch's entry is serialized.
 * - A record that is not a valid envelope, or that no upcaster can bring to the current
 *   schema, is left out whole: the projector's dead-letter topic is where it is reported.
 */
export function parseRecords(packed: ArrayBuffer, filter: WireFilter): ArrayBuffer {
  const records = unpackRecords(packed);
  const lines: Buffer[] = [];
  const times: number[] = [];
  let size = 0;
  let sealed = false;
  for (const bytes of records) {
    let events: Array<{ event: DomainEvent; logged: boolean }>;
    try {
      const value: unknown = JSON.parse(bytes.toString('utf8'));
      const batch = (value as { type?: unknown } | null)?.type === FEED_BATCH;
      events = parseRecord(value).map((envelope: EventEnvelope) => {
        if (envelope.schemaVersion === CURRENT_SCHEMA_VERSIONS[envelope.type as EventType]) {
          return { event: envelope as DomainEvent, logged: !batch };
        }
        return { event: upcast(envelope), logged: false };
      });
    } catch {
      continue;
    }
    const verbatim = events.length === 1 && events[0].logged && bytes.indexOf(NEWLINE) === -1;
    for (const { event } of events) {
      const at = Date.parse(event.occurredAt);
      if (!matchesWire(event, at, filter)) continue;
      const line = verbatim ? bytes : Buffer.from(JSON.stringify(event));
      sealed ||= sealedOf(event as unknown as Replayed) !== undefined;
      lines.push(line);
      times.push(at);
      size += line.length + 1;
    }
  }
  const count = lines.length;
  const out = new ArrayBuffer(LINES_HEADER_BYTES + 12 * count + size);
  const header = new Uint32Array(out, 0, 3);
  header[0] = count;
  header[1] = records.length;
  header[2] = sealed ? 1 : 0;
  new Float64Array(out, LINES_HEADER_BYTES, count).set(times);
  const ends = new Uint32Array(out, LINES_HEADER_BYTES + 8 * count, count);
  const bytes = new Uint8Array(out, LINES_HEADER_BYTES + 12 * count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    bytes.set(lines[i], at);
    at += lines[i].length;
    bytes[at++] = NEWLINE;
    ends[i] = at;
  }
  return out;
}

/** A view of `parseRecords`' answer, read one line at a time by the merge. */
export class ParsedLines {
  readonly count: number;
  /** How many records went into it (for progress). */
  readonly records: number;
  /** Whether a line holds a sealed personal field (only such lines need opening). */
  readonly sealed: boolean;
  readonly times: Float64Array;
  private readonly ends: Uint32Array;
  private readonly bytes: Buffer;
  /** The next line to hand out. */
  cursor = 0;

  constructor(buffer: ArrayBuffer) {
    const [count, records, sealed] = new Uint32Array(buffer, 0, 3);
    [this.count, this.records, this.sealed] = [count, records, sealed === 1];
    this.times = new Float64Array(buffer, LINES_HEADER_BYTES, count);
    this.ends = new Uint32Array(buffer, LINES_HEADER_BYTES + 8 * count, count);
    this.bytes = Buffer.from(buffer, LINES_HEADER_BYTES + 12 * count);
  }

  get remaining(): number {
    return this.count - this.cursor;
  }

  /** The occurredAt of the next line. */
  get head(): number {
    return this.times[this.cursor];
  }

  /** Copies the next line (with its '\n') into `target` at `at` if it fits; returns its length, or -1. */
  copyNext(target: Buffer, at: number): number {
    const start = this.cursor === 0 ? 0 : this.ends[this.cursor - 1];
    const length = this.ends[this.cursor] - start;
    if (at + length > target.length) return -1;
    this.bytes.copy(target, at, start, start + length);
    this.cursor++;
    return length;
  }

  /** The next line itself (for a line longer than a whole output chunk). */
  takeNext(): Buffer {
    const start = this.cursor === 0 ? 0 : this.ends[this.cursor - 1];
    return Buffer.from(this.bytes.subarray(start, this.ends[this.cursor++]));
  }
}
