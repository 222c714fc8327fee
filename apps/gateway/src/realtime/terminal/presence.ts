/**
 * Presence of terminals on `/terminal`: a `terminal.connected` / `terminal.disconnected`
 * fact per socket, with this gateway's id, and the connection registry that keeps at
 * most TERMINAL_MAX_SOCKETS sockets per terminal across gateways (the oldest beyond it
 * are dropped, on whichever gateway holds them).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Namespace } from 'socket.io';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { storeActivityEvent, type DomainEvent } from '@lastmeter/contracts';
import { REDIS, announcementChannel } from '@lastmeter/redis';
import type { TerminalSession } from '../feed-relay';
import { GatewayIdentity } from '../gateway-identity';
import { NotificationHub } from '../notification-hub';
import { ConnectionRegistry } from '../limits/connection-registry';
import { StoreActivityWriter } from '../store-activity-writer';
import { actorOf, type TerminalSocketData } from './terminal-socket';

@Injectable()
export class TerminalPresence {
  private readonly logger = new Logger(TerminalPresence.name);
  private namespace?: Namespace;
  private readonly connections: ConnectionRegistry;

  constructor(
    private readonly writer: StoreActivityWriter,
    private readonly identity: GatewayIdentity,
    @Inject(APP_CONFIG) private readonly config: AppConfig<'gateway'>,
    @Inject(REDIS) private readonly redis: Redis,
    hub: NotificationHub,
  ) {
    this.connections = new ConnectionRegistry(redis, config.REDIS_KEY_PREFIX);
    hub.onAnnouncement((announcement) => {
      if (announcement.kind === 'terminal-socket-dropped') this.dropLocal(announcement.ref);
    });
  }

  /** The sockets this gateway holds, for drops asked by other gateways. */
  track(namespace: Namespace): void {
    this.namespace = namespace;
  }

  /** Records `terminal.connected` (without waiting for Kafka: a failure is only logged). */
  connected(data: TerminalSocketData): void {
    void this.record(data.session, 'terminal.connected');
  }

  /** Records `terminal.disconnected` and takes the socket out of the terminal's connection set. */
  disconnected(data: TerminalSocketData): void {
    void this.record(data.session, 'terminal.disconnected');
    void this.connections.unregister(data.session.terminalId, data.ref).catch(() => undefined);
  }

  /** TERMINAL_MAX_SOCKETS per terminal id across gateways: the oldest beyond it are dropped. */
  async capConnections(data: TerminalSocketData): Promise<void> {
    const { terminalId } = data.session;
    const dropped = await this.connections.register(terminalId, data.ref, this.config.TERMINAL_MAX_SOCKETS);
    for (const ref of dropped) {
      if (this.dropLocal(ref)) continue;
      const channel = announcementChannel(this.config.REDIS_KEY_PREFIX);
      await this.redis.publish(channel, JSON.stringify({ kind: 'terminal-socket-dropped', terminalId, ref }));
    }
  }

  /** Disconnects the socket `<gateway id>/<socket id>` if this gateway holds it; false when another gateway does. */
  private dropLocal(ref: string): boolean {
    const [gatewayId, socketId] = ref.split('/');
    if (gatewayId !== this.identity.id) return false;
    this.namespace?.sockets.get(socketId)?.disconnect(true);
    return true;
  }

  private async record(session: TerminalSession, type: 'terminal.connected' | 'terminal.disconnected') {
    const id = randomUUID();
    const base = { storeId: session.storeId, terminalId: session.terminalId, gatewayId: this.identity.id };
    const data =
      type === 'terminal.connected'
        ? base
        : { ...base, reason: session.socket.disconnected ? 'disconnected' : 'closed' };
    const event = storeActivityEvent(type, id, actorOf(session), data) as DomainEvent;
    await this.writer.send(session.storeId, event).catch((error: unknown) => {
      this.logger.warn(`presence of ${session.terminalId} not recorded: ${(error as Error).message}`);
    });
  }
}
