import { Injectable, Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import type { TokenClaims } from '@lastmeter/auth';
import type { FeedMessage } from '@lastmeter/contracts';
import { readFeed, type FeedItem } from '@lastmeter/read-models';
import { ReadModels } from '../read/read-models.service';
import { visibleTo } from '../read/scope';
import { NotificationHub } from './notification-hub';

/** Items read from Redis per round trip. */
const PAGE = 200;
/** Packets a socket may have waiting in its write buffer before it counts as a slow consumer. */
export const MAX_BUFFERED_PACKETS = 1_000;

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
}

/**
 * Sends each connected terminal every item of its store's feed after its cursor, in
 * order, once. One pump per store and gateway reads the feed from Redis after the
 * lowest cursor of its terminals and hands each terminal the items above its own
 * cursor. A notification (or a terminal connecting) only wakes the pump; the pump always
 * reads what Redis holds, so the seam between backlog and live cannot lose or repeat an
 * item: items published while a backlog is being sent are simply in the next read.
 */
@Injectable()
export class FeedRelay {
  private readonly logger = new Logger(FeedRelay.name);
  private readonly stores = new Map<string, StorePump>();

  constructor(
    private readonly models: ReadModels,
    hub: NotificationHub,
  ) {
    hub.onFeed((storeId) => this.stores.get(storeId)?.wake());
    hub.onResync(() => {
      for (const pump of this.stores.values()) pump.wake();
    });
  }

  attach(session: TerminalSession): void {
    let pump = this.stores.get(session.storeId);
    if (!pump) {
      pump = new StorePump(session.storeId, this.models, this.logger);
      this.stores.set(session.storeId, pump);
    }
    pump.sessions.add(session);
    pump.wake();
  }

  detach(session: TerminalSession): void {
    session.closed = true;
    const pump = this.stores.get(session.storeId);
    if (!pump) return;
    pump.sessions.delete(session);
    if (pump.sessions.size === 0 && !pump.running) this.stores.delete(session.storeId);
  }

  /** Terminals connected to this gateway instance. */
  get connected(): number {
    let count = 0;
    for (const pump of this.stores.values()) count += pump.sessions.size;
    return count;
  }
}

class StorePump {
  readonly sessions = new Set<TerminalSession>();
  running = false;
  private again = false;

  constructor(
    private readonly storeId: string,
    private readonly models: ReadModels,
    private readonly logger: Logger,
  ) {}

  /** Makes the pump read again; a wake while it runs makes it go round once more. */
  wake(): void {
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
        await this.pumpOnce();
      }
    } catch (error) {
      this.logger.warn(`feed of store ${this.storeId} not relayed: ${(error as Error).message}; retrying`);
      setTimeout(() => this.wake(), 500);
    } finally {
      this.running = false;
    }
  }

  private async pumpOnce(): Promise<void> {
    for (;;) {
      const open = [...this.sessions].filter((s) => !s.closed);
      if (open.length === 0) return;
      const from = Math.min(...open.map((s) => s.cursor));
      const { items } = await readFeed(this.models.redis, await this.models.keys(), this.storeId, from, PAGE);
      for (const session of open) this.deliver(session, items);
      if (items.length < PAGE) return;
    }
  }

  private deliver(session: TerminalSession, items: FeedItem[]): void {
    for (const item of items) {
      if (session.closed) return;
      if (item.feedSeq <= session.cursor) continue;
      if (item.feedSeq !== session.cursor + 1) {
        this.logger.error(`store ${this.storeId}: feed jumps from ${session.cursor} to ${item.feedSeq}`);
      }
      if (buffered(session.socket) > MAX_BUFFERED_PACKETS) {
        // It stopped reading: drop it rather than buffer without bound or slow the others.
        // It resumes from its cursor when it reconnects.
        this.logger.warn(`terminal ${session.terminalId} is not reading; disconnecting it (slow consumer)`);
        session.socket.emit('slow-consumer', { cursor: session.cursor });
        session.socket.disconnect(true);
        session.closed = true;
        return;
      }
      const message: FeedMessage = { ...visibleTo(session.claims, item), ...(session.reset ? { reset: true } : {}) };
      session.reset = false;
      session.socket.emit('feed', message);
      session.cursor = item.feedSeq;
    }
  }
}

/** Packets engine.io holds for a socket that its transport has not taken yet. */
function buffered(socket: Socket): number {
  return (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length;
}
