/**
 * Authentication of `/terminal` (docs/design.md section 6): the device-token checks of
 * the handshake, before the connection is accepted (a refusal reaches the client as
 * `connect_error` with `data.reason`); renewal of a token past half its age (with hello,
 * and on a live socket); the socket's end when its token expires; and the disconnection
 * of a terminal revoked meanwhile.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { Namespace, Socket } from 'socket.io';
import { TokenRefused, verifyToken, type TokenClaims } from '@lastmeter/auth';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import {
  isDeviceRole,
  type ConnectRefusal,
  type Revoked,
  type TerminalAuth,
  type TokenExpired,
  type TokenRenewed,
} from '@lastmeter/contracts';
import { getTerminal } from '@lastmeter/read-models';
import { ReadModels } from '../../read/read-models.service';
import { FeedEpoch } from '../feed-epoch';
import { GatewayIdentity } from '../gateway-identity';
import { NotificationHub } from '../notification-hub';
import { deviceTokenVerdict, identityOf, socketLifetime } from '../limits/token-lifetime';
import { GatewayMetrics } from '../gateway-metrics';
import { HandshakeRefusals } from '../handshake-refusals';
import { readHandshake } from './handshake';
import { HandshakeWatch, type HandshakeSteps } from './handshake-watch';
import type { TerminalSocketData } from './terminal-socket';

const DAY_MS = 86_400_000;

/** A connection refused at the handshake: Socket.IO sends `data` to the client. */
class Refusal extends Error {
  readonly data: { reason: ConnectRefusal };
  constructor(reason: ConnectRefusal, message: string) {
    super(message);
    this.data = { reason };
  }
}

@Injectable()
export class TerminalAuthentication {
  private namespace?: Namespace;
  /** Logs a handshake still not served after 5 s, with the step it waits on. */
  private readonly watch = new HandshakeWatch(new Logger('TerminalHandshake'));

  constructor(
    private readonly jwt: JwtService,
    private readonly models: ReadModels,
    private readonly epoch: FeedEpoch,
    private readonly identity: GatewayIdentity,
    @Inject(APP_CONFIG) private readonly config: AppConfig<'gateway'>,
    hub: NotificationHub,
    private readonly metrics: GatewayMetrics,
    private readonly refusals: HandshakeRefusals,
  ) {
    hub.onAnnouncement((announcement) => {
      if (announcement.kind !== 'terminal-revoked') return;
      const name = `terminal:${announcement.terminalId}`;
      const room = this.namespace?.in(name);
      room?.emit('revoked', { terminalId: announcement.terminalId } satisfies Revoked);
      if (this.namespace) this.metrics.sent('terminal', 'revoked', GatewayMetrics.roomSize(this.namespace, name));
      room?.disconnectSockets(true);
    });
  }

  /** Checks every connection to `namespace` before it is accepted. */
  guard(namespace: Namespace): void {
    this.namespace = namespace;
    namespace.use((socket, next) => {
      const steps = this.watch.begin(`socket ${socket.id}`, () => socket.conn.readyState !== 'open');
      this.authenticate(socket, steps).then(
        () => {
          // The connection handler takes it from here (TerminalGateway.handleConnection).
          steps.at('accepted: connection handler');
          (socket.data as TerminalSocketData).handshake = steps;
          next();
        },
        (error: unknown) => {
          steps.done(error instanceof Refusal ? `refused: ${error.data.reason}` : 'unavailable');
          if (error instanceof Refusal) {
            this.refusals.refused('terminal', error.data.reason);
            return next(error);
          }
          // Anything else is ours (Redis down, read models being re-projected): the token may
          // be fine, so the tablet is told to come back, not to enroll again; the cause is logged.
          this.refusals.unavailable('terminal', error);
          next(new Refusal('unavailable', 'cannot check this terminal now; retry'));
        },
      );
    });
  }

  /** Runs before the connection is accepted: a refusal reaches the client as `connect_error`. */
  private async authenticate(socket: Socket, steps: HandshakeSteps): Promise<void> {
    const auth = (socket.handshake.auth ?? {}) as Partial<Record<keyof TerminalAuth, unknown>>;
    if (typeof auth.token !== 'string' || auth.token === '') throw new Refusal('token-missing', 'missing device token');
    let claims: TokenClaims;
    try {
      steps.at('verify token');
      claims = await verifyToken(this.jwt, auth.token);
    } catch (error) {
      throw error instanceof TokenRefused && error.reason === 'token-expired'
        ? new Refusal('token-expired', 'device token expired; enroll this terminal again')
        : new Refusal('token-invalid', 'invalid device token');
    }
    if (!isDeviceRole(claims.role) || !claims.storeId) {
      throw new Refusal('not-a-terminal', 'only device tokens (terminal, screen) may connect to /terminal');
    }
    steps.identify(`terminal ${claims.sub} (socket ${socket.id})`);
    // DEVICE_TOKEN_MAX_AGE_DAYS: expired past it, renewed (with hello) past half of it.
    const maxAgeMs = this.config.DEVICE_TOKEN_MAX_AGE_DAYS * DAY_MS;
    const verdict = deviceTokenVerdict(claims, maxAgeMs, Date.now());
    if (verdict.kind === 'expired')
      throw new Refusal('token-expired', 'device token expired; enroll this terminal again');
    let renewedToken: string | undefined;
    let expiresAt: number;
    if (verdict.kind === 'renew') {
      steps.at('renew token');
      renewedToken = await this.deviceToken(verdict.claims);
      expiresAt = Date.now() + maxAgeMs;
    } else {
      expiresAt = verdict.expiresAt;
    }
    // A string-only client (socket.io-client-java) sends the cursor as "12".
    const options = readHandshake(auth);
    if ('refused' in options) throw new Refusal('bad-cursor', options.refused);
    const { cursor } = options;
    steps.at('read models: current keys');
    const keys = await this.models.keys();
    steps.at('read models: terminal status');
    const terminal = await getTerminal(this.models.redis, keys, claims.sub);
    steps.at('feed epoch');
    const epoch = await this.epoch.get();
    if (terminal?.status === 'revoked') throw new Refusal('terminal-revoked', 'this terminal was revoked');
    const data: TerminalSocketData = {
      session: {
        socket,
        storeId: claims.storeId,
        terminalId: claims.sub,
        claims,
        cursor,
        reset: false,
        closed: false,
        connectedAt: Date.now(),
        batches: options.feedBatches,
      },
      epoch,
      requestedCursor: cursor,
      requestedEpoch: options.epoch,
      snapshotChunks: options.snapshotChunks,
      renewedToken,
      issuedAt: renewedToken ? Date.now() : (claims.iat ?? 0) * 1_000,
      expiresAt,
      ref: `${this.identity.id}/${socket.id}`,
    };
    socket.data = data;
  }

  /**
   * The socket ends when its token does; a tablet that stays connected past half of the
   * token's age gets a renewed one as `token` (so it never has to re-enroll while online).
   * The expiry then follows the renewed token.
   */
  armLifetime(socket: Socket, data: TerminalSocketData): void {
    data.cancelExpiry = socketLifetime({
      issuedAt: data.issuedAt,
      expiresAt: data.expiresAt,
      maxAgeMs: this.config.DEVICE_TOKEN_MAX_AGE_DAYS * DAY_MS,
      expire: () => {
        const expired: TokenExpired = { reason: 'token-expired' };
        socket.emit('token-expired', expired);
        this.metrics.sent('terminal', 'token-expired');
        socket.disconnect(true);
      },
      renew: async () => {
        if (socket.disconnected) return undefined;
        const renewed: TokenRenewed = { token: await this.deviceToken(identityOf(data.session.claims)) };
        socket.emit('token', renewed);
        this.metrics.sent('terminal', 'token');
        return Date.now();
      },
    });
  }

  /** The socket is gone: nothing more to expire or renew. */
  disarmLifetime(data: TerminalSocketData): void {
    data.cancelExpiry?.();
  }

  /** A device token (DEVICE_TOKEN_MAX_AGE_DAYS) for these claims. */
  private deviceToken(claims: TokenClaims): Promise<string> {
    return this.jwt.signAsync(claims, { expiresIn: `${this.config.DEVICE_TOKEN_MAX_AGE_DAYS}d` });
  }
}
