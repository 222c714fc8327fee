import { Inject, Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayInit,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { SESSION_CHECK, TokenRefused, verifyToken, type SessionCheck, type TokenClaims } from '@lastmeter/auth';
import {
  CONSOLE_NAMESPACE,
  CONSOLE_REACH_UPDATES_PER_SECOND,
  type ConsoleRefusal,
  type ConsoleUnwatchAck,
  type ConsoleWatchAck,
  type TokenExpired,
} from '@lastmeter/contracts';
import { getCommunication, getReport, reachReport } from '@lastmeter/read-models';
import { ReadModels } from '../read/read-models.service';
import { HQ_READERS } from '../read/scope';
import { readLivePresence } from './gateway-identity';
import { GatewayMetrics } from './gateway-metrics';
import { HandshakeRefusals } from './handshake-refusals';
import { NotificationHub } from './notification-hub';
import { atInstant } from './limits/token-lifetime';

class Refusal extends Error {
  constructor(
    readonly data: { reason: ConsoleRefusal },
    message: string,
  ) {
    super(message);
  }
}

const REACH_INTERVAL_MS = 1_000 / CONSOLE_REACH_UPDATES_PER_SECOND;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `/console` for head office: live reach per watched communication, overall and by region
 * (coalesced to at most CONSOLE_REACH_UPDATES_PER_SECOND updates each), presence per store, and field
 * reports as they are filed. Everything is read from the read models when the projector
 * announces a change, so any gateway instance can serve any console.
 */
@WebSocketGateway({ namespace: CONSOLE_NAMESPACE })
export class ConsoleGateway implements OnGatewayInit, OnGatewayConnection {
  private readonly logger = new Logger(ConsoleGateway.name);
  private namespace?: Namespace;
  private readonly dirtyReach = new Set<string>();
  private timer?: NodeJS.Timeout;
  private flushing = false;

  constructor(
    private readonly jwt: JwtService,
    private readonly models: ReadModels,
    @Inject(SESSION_CHECK) private readonly sessions: SessionCheck,
    hub: NotificationHub,
    private readonly metrics: GatewayMetrics,
    private readonly refusals: HandshakeRefusals,
  ) {
    hub.onAnnouncement((announcement) => {
      switch (announcement.kind) {
        case 'user-sessions-ended':
          // Disabled, or password or role changed: this user's consoles close now.
          this.namespace?.in(`user:${announcement.userId}`).disconnectSockets(true);
          return;
        case 'reach-changed':
          this.dirtyReach.add(announcement.communicationId);
          this.scheduleReach(REACH_INTERVAL_MS);
          return;
        case 'presence-changed':
          void this.pushPresence(announcement.storeId);
          return;
        case 'report-filed':
          void this.pushReport(announcement.reportId);
          return;
      }
    });
  }

  afterInit(namespace: Namespace): void {
    this.namespace = namespace;
    this.metrics.track('console', namespace);
    namespace.use((socket, next) => {
      this.authenticate(socket).then(
        () => next(),
        (error: unknown) => {
          if (error instanceof Refusal) {
            this.refusals.refused('console', error.data.reason);
            return next(error);
          }
          // Anything else is ours (Redis down while checking the session): not the token's
          // fault; the cause is logged.
          this.refusals.unavailable('console', error);
          next(new Refusal({ reason: 'unavailable' }, 'unavailable for a moment; retry'));
        },
      );
    });
  }

  private async authenticate(socket: Socket): Promise<void> {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || token === '') throw new Refusal({ reason: 'token-missing' }, 'missing token');
    let claims: TokenClaims;
    try {
      claims = await verifyToken(this.jwt, token);
    } catch (error) {
      const reason = error instanceof TokenRefused ? error.reason : 'token-invalid';
      throw new Refusal({ reason }, reason === 'token-expired' ? 'token expired' : 'invalid token');
    }
    if (!(HQ_READERS as readonly string[]).includes(claims.role)) {
      throw new Refusal({ reason: 'forbidden' }, `role ${claims.role} may not use the console`);
    }
    const refusal = await this.sessions.refusal(claims);
    if (refusal) throw new Refusal({ reason: 'session-ended' }, refusal);
    socket.data = { claims };
  }

  /** Every console joins its user's room (closed when the user's sessions end) and closes when its token expires. */
  async handleConnection(socket: Socket): Promise<void> {
    const { claims } = socket.data as { claims: TokenClaims };
    const cancel = atInstant((claims.exp ?? 0) * 1_000, () => {
      const expired: TokenExpired = { reason: 'token-expired' };
      socket.emit('token-expired', expired);
      this.metrics.sent('console', 'token-expired');
      socket.disconnect(true);
    });
    socket.once('disconnect', cancel);
    await socket.join(`user:${claims.sub}`);
  }

  /** `watch { communicationId }` → ack with the current reach; then live `reach` updates. */
  @SubscribeMessage('watch')
  async watch(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Promise<ConsoleWatchAck> {
    const communicationId = (body as { communicationId?: unknown } | null)?.communicationId;
    if (typeof communicationId !== 'string' || !UUID.test(communicationId)) {
      return { ok: false, error: { message: 'invalid message', fields: { communicationId: ['must be a UUID'] } } };
    }
    const reach = await this.reach(communicationId);
    if (!reach) return { ok: false, error: { message: 'no such communication' } };
    await socket.join(`reach:${communicationId}`);
    return { ok: true, reach };
  }

  @SubscribeMessage('unwatch')
  async unwatch(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Promise<ConsoleUnwatchAck> {
    const communicationId = (body as { communicationId?: unknown } | null)?.communicationId;
    if (typeof communicationId === 'string') await socket.leave(`reach:${communicationId}`);
    return { ok: true };
  }

  /**
   * Overall and by region, never per store: a push stays the same size at 50,000 stores.
   * A console that shows a region's stores reads that page over HTTP
   * (`GET /v1/communications/:id/reach?regionId=`) when a push moves the counts.
   */
  private async reach(communicationId: string) {
    const keys = await this.models.keys();
    const communication = await getCommunication(this.models.redis, keys, communicationId);
    return communication ? reachReport(this.models.redis, keys, communication, { byStore: false }) : undefined;
  }

  private scheduleReach(delayMs: number): void {
    if (this.flushing) return; // the running flush schedules the next one
    this.timer ??= setTimeout(() => void this.flushReach(), delayMs);
  }

  /**
   * One flush at a time, and the next waits at least as long as this one took: reach
   * pushes use at most about half of the gateway's time, however many communications are
   * watched. (A by-region report reads per-region counters, under a millisecond at
   * 50,000 stores; see docs/read-side.md.)
   */
  private async flushReach(): Promise<void> {
    this.timer = undefined;
    this.flushing = true;
    const started = Date.now();
    try {
      await this.pushReach();
    } finally {
      this.flushing = false;
      if (this.dirtyReach.size) this.scheduleReach(Math.max(REACH_INTERVAL_MS, Date.now() - started));
    }
  }

  private async pushReach(): Promise<void> {
    const ids = [...this.dirtyReach];
    this.dirtyReach.clear();
    for (const id of ids) {
      const room = `reach:${id}`;
      if (!this.namespace?.adapter.rooms.get(room)?.size) continue;
      try {
        const reach = await this.reach(id);
        if (reach) {
          this.namespace.to(room).emit('reach', reach);
          this.metrics.sent('console', 'reach', GatewayMetrics.roomSize(this.namespace, room));
        }
      } catch (error) {
        this.logger.warn(`reach of ${id} not pushed: ${(error as Error).message}`);
      }
    }
  }

  private async pushPresence(storeId: string): Promise<void> {
    if (!this.namespace?.sockets.size) return;
    try {
      const [store] = await readLivePresence(this.models.redis, await this.models.keys(), [storeId]);
      this.namespace.emit('presence', store);
      this.metrics.sent('console', 'presence', this.namespace.sockets.size);
    } catch (error) {
      this.logger.warn(`presence of ${storeId} not pushed: ${(error as Error).message}`);
    }
  }

  private async pushReport(reportId: string): Promise<void> {
    if (!this.namespace?.sockets.size) return;
    const report = await getReport(this.models.redis, await this.models.keys(), reportId).catch(() => undefined);
    if (report) {
      this.namespace.emit('report', report);
      this.metrics.sent('console', 'report', this.namespace.sockets.size);
    }
  }
}
