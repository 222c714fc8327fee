import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import type { Socket } from 'socket.io';
import type { TokenClaims } from '@lastmeter/auth';
import { FEED_ITEMS_MAX, type FeedItems, type FeedMessage, type SlowConsumer } from '@lastmeter/contracts';
import { readFeed, type FeedItem } from '@lastmeter/read-models';
import { ReadModels, ReadModelsRecovering } from '../read/read-models.service';
import { visibleTo } from '../read/scope';
import { contextOf, inSpan, linksTo, SpanKind } from '@lastmeter/kafka';
import { emitToEach } from './emit-to-each';
import { GatewayMetrics } from './gateway-metrics';
import { NotificationHub, type StoreFeedNotice } from './notification-hub';

/** Items read from Redis per round trip (and so the most a `feed.items` message holds). */
const PAGE = FEED_ITEMS_MAX;

/** One connected terminal: where it is in its store's feed. */
export interface TerminalSession {
  socket: Socket;
  storeId: string;
  terminalId: string;
  claims: TokenClaims;
  /** Last feedSeq sent (or held by the terminal when it connected). */
  cursor: number;
  /** The next item goes out with `reset: true` (the terminal's epoch was not ours). */
  reset: boolean;
  closed: boolean;
  /** When it connected (ms): items appended before were missed, items after are live. */
  connectedAt: number;
  /** Since when its write buffer has been full (it gets nothing more until it drains). */
  fullSince?: number;
  /** It takes `feed.items` (`auth.feedBatches`): what is due at once goes in one message. */
  batches?: boolean;
}

/** Trace contexts a store's pump keeps between two rounds. */
const MAX_TRACES = 8;

/**
 * Messages a terminal that takes `feed.items` may have waiting behind the one being
 * written (each up to a page of items, so the packet cap of the others would let a socket
 * hold 200 times as much). What comes meanwhile stays in Redis and goes in the next
 * message, all of it, once the socket drains.
 */
const BATCHES_BUFFERED = 2;

/** A terminal whose buffer stays full this long has stopped reading: it is disconnected. */
export const SLOW_CONSUMER_MS = 5_000;

/**
 * Sends each connected terminal every item of its store's feed after its cursor, in
 * order, once. One pump per store and gateway reads the feed from Redis after the
 * lowest cursor of its terminals and hands each terminal the items above its own
 * cursor. A notification (or a terminal connecting) only wakes the pump, and the pump
 * sends what follows the cursors in the store's feed, so the seam between backlog and live
 * cannot lose or repeat an item: items published while a backlog is being sent are
 * simply in the next round. Live, the items usually come with a notice (the command
 * service's on commit, then the projector's; both carry them while they fit): a round
 * takes them instead of reading Redis only when they follow right on from the lowest
 * cursor and reach the highest head announced; anything else (a terminal attached, a
 * drain, a notice without its items) reads Redis, and goes on with the items known from
 * notices where Redis ends (a projector may not have written them yet).
 */
@Injectable()
export class FeedRelay {
  private readonly logger = new Logger(FeedRelay.name);
  private readonly stores = new Map<string, StorePump>();

  private readonly maxBuffered: number;

  constructor(
    private readonly models: ReadModels,
    hub: NotificationHub,
    @Inject(APP_CONFIG) config: AppConfig<'gateway'>,
    private readonly metrics: GatewayMetrics,
  ) {
    this.maxBuffered = config.GATEWAY_MAX_BUFFERED_PACKETS;
    hub.onFeed((storeId, notice) => this.stores.get(storeId)?.wake(notice));
    hub.onResync(() => {
      for (const pump of this.stores.values()) pump.wake();
    });
  }

  attach(session: TerminalSession): void {
    let pump = this.stores.get(session.storeId);
    if (!pump) {
      pump = new StorePump(session.storeId, this.models, this.logger, this.maxBuffered, this.metrics);
      this.stores.set(session.storeId, pump);
    }
    pump.sessions.add(session);
    pump.wake();
  }

  /**
   * Whether this gateway handed the store's terminals an item of the communication at
   * `revision` or later, recently: the item was in the store's feed (committed in Kafka),
   * which is what a fact on it needs (FeedCheck), even before a projector has it in Redis.
   */
  handedOut(storeId: string, communicationId: string, revision: number): boolean {
    return (this.stores.get(storeId)?.handedOut.get(communicationId) ?? 0) >= revision;
  }

  /** The terminals of a store connected to this gateway. */
  sessionsOf(storeId: string): ReadonlySet<TerminalSession> {
    return this.stores.get(storeId)?.sessions ?? new Set();
  }

  /** The stores with a terminal connected to this gateway. */
  connectedStores(): IterableIterator<string> {
    return this.stores.keys();
  }

  detach(session: TerminalSession): void {
    session.closed = true;
    const pump = this.stores.get(session.storeId);
    if (!pump) return;
    pump.sessions.delete(session);
    if (pump.sessions.size === 0 && !pump.running) this.stores.delete(session.storeId);
  }
}

/** Communications a store's pump remembers handing out (FeedRelay.handedOut); then it starts again. */
const HANDED_OUT_MAX = 1_000;

class StorePump {
  readonly sessions = new Set<TerminalSession>();
  /** Communication id → the highest revision of it this pump handed out (bounded: HANDED_OUT_MAX). */
  readonly handedOut = new Map<string, number>();
  running = false;
  private again = false;
  /** Trace contexts of the notices that woke the pump (tracing on): its next emits continue them. */
  private traces: string[] = [];
  /**
   * Items the notices carried, one feedSeq after another, kept while a terminal here may
   * still need them and Redis may not hold them yet (above the lowest cursor, or above
   * what a projector announced): a round takes them instead of reading Redis when they
   * start right above the lowest cursor and reach the highest head a notice announced,
   * and a round that reads Redis goes on with them where Redis ends. So a terminal that
   * attaches while no projector runs (Redis is behind what the others were handed on
   * commit) is handed those items too, and holds nobody back. At most PAGE.
   */
  private known: FeedItem[] = [];
  /** The highest head a notice announced. */
  private noticed = 0;
  /** The highest feedSeq Redis is known to hold: a projector announced it, or a read returned it. */
  private projected = 0;
  /**
   * Redis may hold items that `known` lacks: the next round reads it. Set by every
   * wake that is not a notice with its items (a terminal attached, a socket drained, a
   * resync, a retry) and by a notice without them (too many to carry).
   */
  private unknown = true;
  /** When this round last sent items (`performance.now()`): where its `emit feed` span ends. */
  private emittedAt?: number;

  constructor(
    private readonly storeId: string,
    private readonly models: ReadModels,
    private readonly logger: Logger,
    /** Packets a socket may have waiting in its write buffer before it counts as a slow consumer. */
    private readonly maxBuffered: number,
    private readonly metrics: GatewayMetrics,
  ) {}

  /**
   * Makes the pump go round again; a wake while it runs makes it go round once more.
   * `notice`: a feed notice for the store (its head, and its items if it carried them).
   */
  wake(notice?: StoreFeedNotice): void {
    for (const traceparent of notice?.traces ?? []) if (this.traces.length < MAX_TRACES) this.traces.push(traceparent);
    if (notice) this.carry(notice);
    else this.unknown = true;
    this.again = true;
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      // No await between the last check of `again` and clearing `running`: a wake can
      // never fall between the two and be lost.
      while (this.again) {
        this.again = false;
        const traces = this.traces;
        this.traces = [];
        if (traces.length === 0) await this.pumpOnce();
        else await this.tracedPumpOnce(traces);
      }
    } catch (error) {
      // While the read models are re-projected (ReadModelsRecovering) this is expected, once per store.
      const log = error instanceof ReadModelsRecovering ? 'debug' : 'warn';
      this.logger[log](`feed of store ${this.storeId} not relayed: ${(error as Error).message}; retrying`);
      setTimeout(() => this.wake(), 500);
    } finally {
      this.running = false;
    }
  }

  /** One round, in an `emit feed` span that continues the first notice's trace (and links the others). */
  private tracedPumpOnce(traces: string[]): Promise<void> {
    const [first, ...others] = traces.map((traceparent) => ({ traceparent }));
    this.emittedAt = undefined;
    return inSpan(
      'emit feed',
      {
        kind: SpanKind.PRODUCER,
        parent: contextOf(first),
        links: linksTo(others),
        attributes: { 'lastmeter.store_id': this.storeId, 'lastmeter.terminals': this.sessions.size },
        // Every store's round starts on the same notice; each ends at its own last emit,
        // not when its promise settles, after every other store's emits too.
        endedAt: () => this.emittedAt,
      },
      () => this.pumpOnce(),
    );
  }

  /** Keeps a notice's items, if they are whole (else Redis is read), after those known when they follow on. */
  private carry({ head, items, projected }: StoreFeedNotice): void {
    this.noticed = Math.max(this.noticed, head);
    if (projected) this.projected = Math.max(this.projected, head);
    let parsed: FeedItem[];
    try {
      parsed = (items ?? []).map((item) => JSON.parse(item) as FeedItem);
    } catch {
      parsed = [];
    }
    const run = parsed.every((item, i) => i === 0 || item.feedSeq === parsed[i - 1]!.feedSeq + 1);
    if (parsed.length === 0 || !run || parsed.at(-1)!.feedSeq !== head) {
      this.unknown = true;
      return;
    }
    const last = this.known.at(-1)?.feedSeq;
    if (last === undefined || parsed[0]!.feedSeq > last + 1) this.known = parsed;
    else this.known.push(...parsed.filter((item) => item.feedSeq > last));
    if (this.known.length > PAGE) this.known.splice(0, this.known.length - PAGE);
  }

  /** The known items after `from`, if they start right after it (else undefined). */
  private knownAfter(from: number): FeedItem[] | undefined {
    const start = this.known.findIndex((item) => item.feedSeq === from + 1);
    return start < 0 ? undefined : this.known.slice(start);
  }

  /** Forgets the known items that every terminal here has and Redis holds. */
  private forget(): void {
    let floor = this.projected;
    for (const session of this.sessions) if (!session.closed) floor = Math.min(floor, session.cursor);
    const keep = this.known.findIndex((item) => item.feedSeq > floor);
    this.known = keep < 0 ? [] : this.known.slice(keep);
  }

  private async pumpOnce(): Promise<void> {
    try {
      await this.sendDue();
    } finally {
      this.forget();
    }
  }

  private async sendDue(): Promise<void> {
    for (;;) {
      // Terminals with a full buffer wait for their socket to drain (which wakes the pump).
      const open = [...this.sessions].filter((s) => !s.closed && s.fullSince === undefined);
      if (open.length === 0) return;
      const from = Math.min(...open.map((s) => s.cursor));
      // Every wake since the last read was a notice with its items, and none announced
      // anything beyond the lowest cursor: nothing to send (the projector's notice of
      // items that the command service's notice on commit brought already).
      if (!this.unknown && this.noticed <= from) return;
      // This round reads Redis if anything before it said so. Taken now, before the first
      // await: a wake from here on (a terminal attaching, not among `open`) is for the
      // next round, which must read Redis for it.
      const unknown = this.unknown;
      this.unknown = false;
      // While the read models are re-projected after Redis lost data, this throws: known items wait too.
      const keys = await this.models.keys();
      let items = unknown ? undefined : this.knownAfter(from);
      if (items && items.at(-1)!.feedSeq < this.noticed) items = undefined;
      this.metrics.relayRound(items ? 'notice' : 'redis');
      let full = false;
      if (!items) {
        let headSeq: number;
        ({ items, headSeq } = await readFeed(this.models.redis, keys, this.storeId, from, PAGE));
        // Its head, not `from`: a terminal may hold a cursor beyond what Redis has.
        this.projected = Math.max(this.projected, headSeq);
        // A full page: Redis may hold more, which the next turn reads.
        full = items.length === PAGE;
        if (full) this.unknown = true;
        // Where Redis ends, the items known from notices on commit go on (no projector has them yet).
        const more = full ? undefined : this.knownAfter(items.at(-1)?.feedSeq ?? from);
        if (more) {
          items = [...items, ...more];
          // Never more than a page at once (a `feed.items` holds at most that): the next turn sends the rest.
          if (items.length > PAGE) {
            items = items.slice(0, PAGE);
            full = true;
          }
        }
      }
      if (items.length === 0) return;
      if (items.length === 1) {
        // Live, one item at a time (the usual case): one `feed`, whatever the terminals take.
        this.deliver(open, items[0]!);
      } else {
        const batching = open.filter((s) => s.batches);
        const single = open.filter((s) => !s.batches);
        if (single.length > 0) for (const item of items) this.deliver(single, item);
        // The fan-out latency of an item is observed once: by `deliver` when it has terminals too.
        if (batching.length > 0) this.deliverPage(batching, items, single.length === 0);
      }
      this.emittedAt = performance.now();
      if (!full) return;
    }
  }

  /**
   * Sends one item to every terminal that is due for it. Terminals that get the same
   * message (the content, or `hidden` for a role they do not serve) get it encoded once
   * and written to each of their sockets (`emitToEach`), in the same order as one emit
   * per socket would.
   */
  private deliver(sessions: TerminalSession[], item: FeedItem): void {
    this.handingOut(item);
    const groups = new Map<boolean, { message: FeedMessage; sessions: TerminalSession[] }>();
    const appended = Date.parse(item.at);
    let live = 0;
    let missed = 0;
    for (const session of sessions) {
      if (session.closed || session.fullSince !== undefined || item.feedSeq <= session.cursor) continue;
      if (!this.mayTake(session, item.feedSeq)) continue;
      const message = visibleTo(session.claims, item);
      session.cursor = item.feedSeq;
      if (appended >= session.connectedAt) live++;
      else missed++;
      if (session.reset) {
        session.reset = false;
        session.socket.emit('feed', { ...message, reset: true } satisfies FeedMessage);
        continue;
      }
      const hidden = 'hidden' in message;
      const group = groups.get(hidden) ?? { message, sessions: [] as TerminalSession[] };
      group.sessions.push(session);
      groups.set(hidden, group);
    }
    for (const { message, sessions: due } of groups.values()) {
      emitToEach(socketsOf(due), 'feed', message);
    }
    this.metrics.sent('terminal', 'feed', live + missed);
    this.metrics.backlogSent(missed);
    if (live > 0) this.metrics.fannedOut((Date.now() - appended) / 1000);
  }

  /**
   * Sends each terminal that takes `feed.items` everything of `items` (a page of the feed,
   * in feedSeq order) it is due for, in one message: `feed.items`, or `feed` when one
   * item is due. Terminals due for the same messages (same cursor, same items hidden from
   * their roles) get them encoded once (`emitToEach`). A burst of publishes, or a
   * backlog, costs a socket one packet per page instead of one per item.
   */
  private deliverPage(sessions: TerminalSession[], items: FeedItem[], observeFanOut: boolean): void {
    for (const item of items) this.handingOut(item);
    const groups = new Map<string, { messages: FeedMessage[]; sessions: TerminalSession[] }>();
    const liveItems = new Set<FeedItem>();
    let missed = 0;
    /** Messages sent: sockets that got one `feed`, and one `feed.items`. */
    let singles = 0;
    let batches = 0;
    for (const session of sessions) {
      if (session.closed || session.fullSince !== undefined) continue;
      const first = items.findIndex((item) => item.feedSeq > session.cursor);
      if (first < 0) continue;
      const due = items.slice(first);
      if (!this.mayTake(session, due[0]!.feedSeq)) continue;
      const messages: FeedMessage[] = due.map((item) => visibleTo(session.claims, item));
      for (const item of due) {
        if (Date.parse(item.at) >= session.connectedAt) liveItems.add(item);
        else missed++;
      }
      session.cursor = due.at(-1)!.feedSeq;
      if (messages.length === 1) singles++;
      else batches++;
      if (session.reset) {
        session.reset = false;
        messages[0] = { ...messages[0]!, reset: true };
        emitDue([session.socket], messages);
        continue;
      }
      const key = `${first}:${messages.map((m) => ('hidden' in m ? 'h' : 'v')).join('')}`;
      const group = groups.get(key) ?? { messages, sessions: [] as TerminalSession[] };
      group.sessions.push(session);
      groups.set(key, group);
    }
    for (const { messages, sessions: due } of groups.values()) {
      emitDue(socketsOf(due), messages);
    }
    this.metrics.sent('terminal', 'feed', singles);
    this.metrics.sent('terminal', 'feed.items', batches);
    this.metrics.backlogSent(missed);
    if (!observeFanOut) return;
    const now = Date.now();
    for (const item of liveItems) this.metrics.fannedOut((now - Date.parse(item.at)) / 1000);
  }

  private handingOut({ communication: { id, revision } }: FeedItem): void {
    if ((this.handedOut.get(id) ?? 0) >= revision) return;
    if (this.handedOut.size >= HANDED_OUT_MAX) this.handedOut.clear();
    this.handedOut.set(id, revision);
  }

  /**
   * Whether a terminal due for items from `next` on may be sent them now: not while its
   * socket has as many packets waiting as it may (it is marked full and waits for the
   * drain). A `next` other than its cursor + 1 is a gap upstream, logged.
   */
  private mayTake(session: TerminalSession, next: number): boolean {
    if (next !== session.cursor + 1) {
      this.logger.error(`store ${this.storeId}: feed jumps from ${session.cursor} to ${next}`);
    }
    const cap = session.batches ? Math.min(this.maxBuffered, BATCHES_BUFFERED) : this.maxBuffered;
    if (buffered(session.socket) < cap) return true;
    this.full(session);
    return false;
  }

  /**
   * The socket's buffer is full: send it nothing more until it drains. If it does not
   * drain within SLOW_CONSUMER_MS it has stopped reading: drop it rather than buffer
   * without bound or hold the others back; it resumes from its cursor when it reconnects.
   */
  private full(session: TerminalSession): void {
    if (session.fullSince !== undefined) return;
    session.fullSince = Date.now();
    const conn = session.socket.conn;
    const drained = () => {
      clearTimeout(timer);
      session.fullSince = undefined;
      this.wake();
    };
    const timer = setTimeout(() => {
      conn.off('drain', drained);
      if (session.closed) return;
      this.logger.warn(`terminal ${session.terminalId} is not reading; disconnecting it (slow consumer)`);
      session.socket.emit('slow-consumer', { cursor: session.cursor } satisfies SlowConsumer);
      this.metrics.sent('terminal', 'slow-consumer');
      this.metrics.slowConsumer();
      session.socket.disconnect(true);
      session.closed = true;
    }, SLOW_CONSUMER_MS);
    conn.once('drain', drained);
  }
}

/** One due item as `feed`, several as one `feed.items`. */
function emitDue(sockets: Socket[], messages: FeedMessage[]): void {
  if (messages.length === 1) emitToEach(sockets, 'feed', messages[0]);
  else emitToEach(sockets, 'feed.items', { items: messages } satisfies FeedItems);
}

function socketsOf(sessions: TerminalSession[]): Socket[] {
  return sessions.map((session) => session.socket);
}

/** Packets engine.io holds for a socket that its transport has not taken yet. */
function buffered(socket: Socket): number {
  return (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length;
}
