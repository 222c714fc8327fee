import { NOT_CONFIRMED, WRITER_BUSY } from '@lastmeter/contracts';
import { FactInFlight, type ClaimState } from '@lastmeter/redis';

/**
 * One fact for the log: its Kafka message (key, JSON value, `type` header) and the id it
 * is claimed under, once per fact; without an id it is written as is (presence).
 */
export interface Fact {
  id?: string;
  key: string;
  value: string;
  type: string;
}

/** Port: the log. One call appends all the messages (acks=all) or fails. */
export interface FactLog {
  send(messages: Array<Omit<Fact, 'id'>>): Promise<void>;
}

/** Port: the once-per-fact claims (FactClaims in libs/redis), one round trip per call. */
export interface FactClaimStore {
  claimMany(ids: string[]): Promise<ClaimState[]>;
  confirmMany(ids: string[]): Promise<void>;
  releaseMany(ids: string[]): Promise<void>;
  extendMany(ids: string[]): Promise<void>;
}

export interface FactBatcherOptions {
  /** Most facts per claim pipeline. */
  maxBatch: number;
  /** Most facts per Kafka send (what was claimed while the previous send was in flight). */
  maxSend: number;
  /** How long the first fact of a batch waits for others before the batch goes. */
  lingerMs: number;
  /** Facts accepted and not yet settled (queued, claimed, in Kafka); beyond it a fact is held. */
  maxBuffered: number;
  /**
   * Facts held, beyond maxBuffered, until there is room (first come, first served); beyond
   * it `write` refuses at once with WriterBusy.
   */
  maxHeld: number;
  /** How long a fact may be held waiting for room; then it is answered WriterBusy (nothing was done). */
  maxHoldMs: number;
  /** A fact not acked by Kafka this long after `write` is answered NotConfirmed (its send may still succeed). */
  deadlineMs: number;
  /** How often a fact claimed by another request is tried again. */
  claimRetryMs: number;
  /** How often the claims of a send past its deadline are prolonged while it goes on. */
  keepAliveMs: number;
}

export const FACT_BATCHER_DEFAULTS: FactBatcherOptions = {
  maxBatch: 2_000,
  maxSend: 2_000,
  lingerMs: 2,
  maxBuffered: 60_000,
  maxHeld: 60_000,
  maxHoldMs: 3_000,
  deadlineMs: 10_000,
  claimRetryMs: 50,
  keepAliveMs: 5_000,
};

/** The buffer is full: nothing was written or claimed; resend shortly. */
export class WriterBusy extends Error {
  constructor() {
    super(WRITER_BUSY);
  }
}

/**
 * Kafka did not ack the fact within the deadline. It may still be recorded (its claim
 * holds a resend back until then, and a resend then answers duplicate); resend.
 */
export class NotConfirmed extends Error {
  constructor() {
    super(NOT_CONFIRMED);
  }
}

export interface FactBatcherHooks {
  /** A Kafka send of `facts` messages was acked. */
  sent?(facts: number): void;
  /** Something went wrong that no caller is told about (a claim left to expire). */
  warn?(message: string): void;
}

type Outcome = { duplicate: boolean };

/** A fact waiting for room in the buffer (not claimed, nothing done yet). */
interface Held {
  fact: Fact;
  done: FactCallback;
  /** Answered WriterBusy from this time on (ms, Date.now()). */
  until: number;
}

/** Called once with a fact's outcome: recorded (`duplicate` or not), or why not. */
export type FactCallback = (outcome: Outcome | Error) => void;

interface Entry {
  fact: Fact;
  done: FactCallback;
  /** Answer NotConfirmed (or FactInFlight) from this time on (ms, Date.now()). */
  deadline: number;
  /** Its claim was found held by another request at least once. */
  contended: boolean;
  /** The same fact written again on this gateway meanwhile: answered with it, as a duplicate (made on the first). */
  followers?: FactCallback[];
  answered: boolean;
}

/**
 * The gateway's micro-batching fact writer (issue 16). Facts are collected for `lingerMs`
 * or until `maxBatch`, claimed in one Redis pipeline (FactClaims: SET NX per fact),
 * written in one Kafka send of many messages, confirmed in one pipeline, and only then is
 * each fact's promise resolved: a fact is acked after Kafka has it, and written once.
 *
 * Three stages run side by side, first in first out: claiming the next batch while the
 * previous one is in Kafka, and confirming the one before. Sends are strictly one after
 * another (BatchProducer's idempotence needs it); the next one starts as soon as Kafka
 * answered the previous one, and facts claimed meanwhile go together in it, so batches
 * grow with the load.
 *
 * - Once per fact: the same id twice on this gateway is one write (the later write is
 *   answered with the first as a duplicate); on several gateways, the Redis claim decides
 *   (`done`: duplicate; held by another: tried again every `claimRetryMs` until the
 *   deadline, then FactInFlight).
 * - Backpressure: at most `maxBuffered` facts between `write` and their settlement
 *   (facts of a send past its deadline count until the send settles). Beyond it a fact
 *   is held (nothing claimed) until earlier ones settle, first come, first served: at
 *   most `maxHeld` facts, each for at most `maxHoldMs`, then WriterBusy; beyond
 *   `maxHeld`, `write` refuses at once with WriterBusy. A burst is written as soon as
 *   there is room instead of being resent after a client's pause (the writer idle
 *   meanwhile), and memory stays bounded when Kafka is slow or gone.
 * - Deadline: a fact not acked within `deadlineMs` is answered NotConfirmed. Not yet sent:
 *   its claim is released. Being sent: its claim is kept (and prolonged) until Kafka
 *   answers, then confirmed or released, so that no resend writes it twice.
 */
export class FactBatcher {
  private readonly options: FactBatcherOptions;
  private readonly queue = new Fifo<Entry>();
  /** Beyond maxBuffered: facts waiting for room, in arrival order. */
  private readonly held = new Fifo<Held>();
  /** Claimed (or unclaimed: presence) and waiting for the next send. */
  private readonly ready = new Fifo<Entry>();
  /** Entries on this gateway by fact id, from `write` until answered. */
  private readonly byId = new Map<string, Entry>();
  private buffered = 0;
  private claiming = false;
  private sending = false;
  private linger?: NodeJS.Timeout;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly log: FactLog,
    private readonly claims: FactClaimStore,
    options: Partial<FactBatcherOptions> = {},
    private readonly hooks: FactBatcherHooks = {},
  ) {
    this.options = { ...FACT_BATCHER_DEFAULTS, ...options };
    // Facts still queued or waiting for a send past their deadline (Kafka stalled) are
    // answered without waiting any longer.
    const every = Math.min(this.options.deadlineMs, this.options.maxHoldMs) / 10;
    this.sweeper = setInterval(() => this.sweep(), Math.max(10, every)).unref();
  }

  /** Facts accepted and not yet settled (held ones included). */
  get size(): number {
    return this.buffered + this.held.length;
  }

  /** How many more facts `write` would take right now, to buffer or to hold (0: it refuses with WriterBusy). */
  get room(): number {
    return Math.max(0, this.options.maxBuffered - this.buffered) + Math.max(0, this.options.maxHeld - this.held.length);
  }

  /** Writes the fact once; `duplicate` when it was already recorded. */
  write(fact: Fact): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) =>
      this.submit(fact, (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome))),
    );
  }

  /**
   * `write` for callers of many facts at once (a `receipts` message): `done` is called
   * once with the outcome (WriterBusy at once when even the hold is full), without a
   * promise per fact.
   */
  submit(fact: Fact, done: FactCallback): void {
    if (this.buffered < this.options.maxBuffered && this.held.length === 0) {
      this.accept(fact, done);
    } else if (this.held.length < this.options.maxHeld) {
      // Full: held until earlier facts settle, rather than refused and resent after a pause.
      this.held.push({ fact, done, until: Date.now() + this.options.maxHoldMs });
    } else {
      done(new WriterBusy());
    }
  }

  /** Into the buffer: the fact's deadline starts now. */
  private accept(fact: Fact, done: FactCallback): void {
    this.buffered++;
    const same = fact.id === undefined ? undefined : this.byId.get(fact.id);
    if (same) {
      (same.followers ??= []).push(done);
      return;
    }
    const entry: Entry = {
      fact,
      done,
      deadline: Date.now() + this.options.deadlineMs,
      contended: false,
      answered: false,
    };
    if (fact.id !== undefined) this.byId.set(fact.id, entry);
    this.enqueue(entry);
  }

  /** Resolves once every accepted fact has settled, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; this.size > 0 && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops the sweeper; what is pending still settles. */
  close(): void {
    clearInterval(this.sweeper);
    clearTimeout(this.linger);
  }

  private enqueue(entry: Entry): void {
    this.queue.push(entry);
    if (this.queue.length >= this.options.maxBatch) this.claimNext();
    else this.linger ??= setTimeout(() => this.claimNext(), this.options.lingerMs);
  }

  /** Answers the entry (and the same fact's later writes); its place in the buffer is given back by `settle`. */
  private answer(entry: Entry, outcome: Outcome | Error): void {
    if (entry.answered) return;
    entry.answered = true;
    if (entry.fact.id !== undefined && this.byId.get(entry.fact.id) === entry) this.byId.delete(entry.fact.id);
    entry.done(outcome);
    if (entry.followers === undefined) return;
    // A follower's place in the buffer is given back as it is answered.
    this.buffered -= entry.followers.length;
    const theirs = outcome instanceof Error ? outcome : { duplicate: true };
    for (const follower of entry.followers) follower(theirs);
    this.admitHeld();
  }

  /** Answers and frees the entries' places in the buffer. */
  private settle(entries: Entry[], outcome: Outcome | Error): void {
    for (const entry of entries) this.answer(entry, outcome);
    this.buffered -= entries.length;
    this.admitHeld();
  }

  /** Held facts take the room given back, first come, first served. */
  private admitHeld(): void {
    while (this.held.length > 0 && this.buffered < this.options.maxBuffered) {
      const [{ fact, done }] = this.held.take(1);
      this.accept(fact, done);
    }
  }

  /** Stage 1: claims the next batch (one pipeline) and hands what may be written to the sender. */
  private claimNext(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    if (this.claiming || this.queue.length === 0) return;
    this.claiming = true;
    const batch = this.queue.take(this.options.maxBatch);
    void this.claim(batch).finally(() => {
      this.claiming = false;
      if (this.queue.length >= this.options.maxBatch) this.claimNext();
      else if (this.queue.length > 0) this.linger ??= setTimeout(() => this.claimNext(), this.options.lingerMs);
    });
  }

  private async claim(batch: Entry[]): Promise<void> {
    const claimed = batch.filter((entry) => entry.fact.id !== undefined);
    let states: ClaimState[];
    try {
      states = await this.claims.claimMany(claimed.map((entry) => entry.fact.id!));
    } catch (error) {
      this.settle(batch, error as Error);
      return;
    }
    const duplicates: Entry[] = [];
    const contended: Entry[] = [];
    claimed.forEach((entry, i) => {
      if (states[i] === 'done') duplicates.push(entry);
      else if (states[i] === 'pending') contended.push(entry);
    });
    this.settle(duplicates, { duplicate: true });
    for (const entry of contended) {
      entry.contended = true;
      setTimeout(() => {
        if (entry.answered) return;
        if (Date.now() >= entry.deadline) this.settle([entry], new FactInFlight());
        else this.enqueue(entry);
      }, this.options.claimRetryMs).unref();
    }
    const skip = new Set([...duplicates, ...contended]);
    for (const entry of batch) if (!skip.has(entry)) this.ready.push(entry);
    this.sendNext();
  }

  /** Stage 2: one Kafka send at a time, of everything claimed meanwhile. */
  private sendNext(): void {
    if (this.sending || this.ready.length === 0) return;
    this.sending = true;
    const batch = this.ready.take(this.options.maxSend);
    void this.send(batch).finally(() => {
      this.sending = false;
      this.sendNext();
    });
  }

  private async send(claimed: Entry[]): Promise<void> {
    // Whatever is already past its deadline is not sent at all.
    const now = Date.now();
    const expired = claimed.filter((entry) => entry.deadline <= now);
    if (expired.length > 0) this.expire(expired);
    const batch = expired.length > 0 ? claimed.filter((entry) => entry.deadline > now) : claimed;
    if (batch.length === 0) return;
    const ids = batch.flatMap((entry) => (entry.fact.id === undefined ? [] : [entry.fact.id]));
    const sent = this.log.send(batch.map((entry) => entry.fact));
    // The answer's deadline is the earliest of the batch's; the send itself goes on.
    const deadline = Math.min(...batch.map((entry) => entry.deadline));
    let timer: NodeJS.Timeout | undefined;
    let keepAlive: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()));
    });
    const settled = sent.then(
      () => 'sent' as const,
      (error: unknown) => error as Error,
    );
    const first = await Promise.race([settled, late]);
    clearTimeout(timer);
    if (first === 'late') {
      // Told "not confirmed, resend"; the claims hold a resend back until Kafka answers.
      for (const entry of batch) this.answer(entry, new NotConfirmed());
      keepAlive = setInterval(() => {
        this.claims.extendMany(ids).catch((error: unknown) => {
          this.hooks.warn?.(`claims of a late send not prolonged: ${(error as Error).message}`);
        });
      }, this.options.keepAliveMs);
    }
    const outcome = await settled;
    clearInterval(keepAlive);
    // Kafka answered: the next send may start; the claims are confirmed (or released) beside it.
    void this.finish(batch, ids, outcome);
  }

  /** After Kafka answered a send: confirms its claims and answers its facts, or releases and fails them. */
  private async finish(batch: Entry[], ids: string[], outcome: 'sent' | Error): Promise<void> {
    if (outcome === 'sent') {
      this.hooks.sent?.(batch.length);
      await this.confirm(ids);
      this.settle(batch, { duplicate: false });
    } else {
      await this.claims.releaseMany(ids).catch((error: unknown) => {
        this.hooks.warn?.(`claims of a failed send not released (they expire): ${(error as Error).message}`);
      });
      this.settle(batch, outcome);
    }
  }

  /**
   * Kafka has the facts: their claims become permanent. If Redis fails here the facts are
   * still recorded (and acked as such); their claims expire as "being written", and a
   * resend after that would add a copy that readers drop by event id.
   */
  private async confirm(ids: string[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.claims.confirmMany(ids);
        return;
      } catch (error) {
        if (attempt >= 2) {
          this.hooks.warn?.(`claims of ${ids.length} written facts not confirmed: ${(error as Error).message}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Answers queued and claimed-but-unsent facts past their deadline (Kafka stalled behind them). */
  private sweep(): void {
    const now = Date.now();
    for (const held of this.held.removeWhere((h) => h.until <= now)) held.done(new WriterBusy());
    const expired = (entry: Entry) => entry.deadline <= now;
    for (const entry of this.queue.removeWhere(expired)) {
      this.settle([entry], entry.contended ? new FactInFlight() : new NotConfirmed());
    }
    const late = this.ready.removeWhere(expired);
    if (late.length > 0) this.expire(late);
  }

  /** Claimed facts that will not be sent: their claims are released, they are answered NotConfirmed. */
  private expire(entries: Entry[]): void {
    const ids = entries.flatMap((entry) => (entry.fact.id === undefined ? [] : [entry.fact.id]));
    void this.claims.releaseMany(ids).catch(() => undefined);
    this.settle(entries, new NotConfirmed());
  }
}

/** First in, first out, taking from the front in O(1) amortised (`Array#splice(0, n)` moves all the rest). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Takes up to `n` items from the front. */
  take(n: number): T[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4_096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Takes out the items that match, in order. */
  removeWhere(matches: (item: T) => boolean): T[] {
    let any = false;
    for (let i = this.head; i < this.items.length && !any; i++) any = matches(this.items[i]);
    if (!any) return [];
    const live = this.items.slice(this.head);
    this.items = live.filter((item) => !matches(item));
    this.head = 0;
    return live.filter(matches);
  }
}
