import { Inject, Logger, type OnModuleDestroy } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type Redis from 'ioredis';
import {
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
} from '@nestjs/websockets';
import { randomUUID } from 'node:crypto';
import type { Namespace, Socket } from 'socket.io';
import { TokenRefused, verifyToken, type TokenClaims } from '@lastmeter/auth';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import {
  RATE_LIMITED,
  storeActivityEvent,
  TERMINAL_NAMESPACE,
  type Ack,
  type TerminalClientEvents,
  type Actor,
  type ConnectRefusal,
  type DomainEvent,
  type Hello,
  type TerminalAuth,
  type TokenExpired,
  type TokenRenewed,
} from '@lastmeter/contracts';
import {
  announcementChannel,
  factContext,
  feedHead,
  getCommunication,
  getStore,
  getTerminal,
} from '@lastmeter/read-models';
import { REDIS } from '@lastmeter/redis';
import { ReadModels } from '../read/read-models.service';
import { FeedEpoch } from './feed-epoch';
import { FeedRelay, type TerminalSession } from './feed-relay';
import { GatewayIdentity } from './gateway-identity';
import { NotificationHub } from './notification-hub';
import { ConnectionRegistry } from './limits/connection-registry';
import { MessageBudget } from './limits/message-budget';
import { deviceTokenVerdict, identityOf, socketLifetime } from './limits/token-lifetime';
import { ReportQuota } from './limits/report-quota';
import { ActivityInFlight, StoreActivityWriter } from './store-activity-writer';
import {
  InvalidMessage,
  parseMessage,
  QuizAnswerDto,
  ReceiptDto,
  ReportFileDto,
  TaskCompleteDto,
} from './terminal.dto';

/** Largest client → server message, as JSON. */
export const MAX_MESSAGE_BYTES = 16 * 1024;

class Refusal extends Error {
  readonly data: { reason: ConnectRefusal };
  constructor(reason: ConnectRefusal, message: string) {
    super(message);
    this.data = { reason };
  }
}

class Rejected extends Error {}

interface SocketData {
  session: TerminalSession;
  epoch: string;
  requestedCursor: number;
  requestedEpoch?: string;
  /** A renewed device token to hand over with hello. */
  renewedToken?: string;
  /** When the socket's token (or its renewal) was issued and expires, epoch ms. */
  issuedAt: number;
  expiresAt: number;
  /** `<gateway id>/<socket id>`, in the terminal's connection set. */
  ref: string;
  cancelExpiry?: () => void;
}

/** Refused-fact retries while the projector catches up with a just-revised communication. */
const REVISION_WAITS_MS = [100, 250, 500];
const DAY_MS = 86_400_000;

/**
 * `/terminal` (DESIGN.md section 6): device-token authentication before the connection
 * is accepted, rooms chosen by the server only, the resume protocol (hello, then every
 * item after the cursor, then live items; see FeedRelay), and store → head office facts
 * (receipts, task evidence, quiz answers, field reports) written to Kafka once and acked
 * only after Kafka has them.
 */
@WebSocketGateway({
  namespace: TERMINAL_NAMESPACE,
  maxHttpBufferSize: 256 * 1024,
  pingInterval: 10_000,
  pingTimeout: 5_000,
})
export class TerminalGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy {
  private readonly logger = new Logger(TerminalGateway.name);
  private namespace?: Namespace;
  private readonly budget: MessageBudget;
  private readonly connections: ConnectionRegistry;
  private readonly reports: ReportQuota;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly jwt: JwtService,
    private readonly models: ReadModels,
    private readonly epoch: FeedEpoch,
    private readonly relay: FeedRelay,
    private readonly writer: StoreActivityWriter,
    private readonly identity: GatewayIdentity,
    @Inject(APP_CONFIG) private readonly config: AppConfig<'gateway'>,
    @Inject(REDIS) private readonly redis: Redis,
    hub: NotificationHub,
  ) {
    this.budget = new MessageBudget({
      rate: config.TERMINAL_MESSAGE_RATE,
      burst: config.TERMINAL_MESSAGE_BURST,
      strikes: config.TERMINAL_FLOOD_STRIKES,
    });
    this.sweeper = setInterval(() => this.budget.sweep(), 10_000).unref();
    this.connections = new ConnectionRegistry(redis, config.REDIS_KEY_PREFIX);
    this.reports = new ReportQuota(redis, config.REDIS_KEY_PREFIX, config.TERMINAL_REPORTS_PER_HOUR);
    hub.onAnnouncement((announcement) => {
      if (announcement.kind === 'terminal-socket-dropped') {
        this.dropLocal(announcement.ref);
        return;
      }
      if (announcement.kind !== 'terminal-revoked') return;
      const room = this.namespace?.in(`terminal:${announcement.terminalId}`);
      room?.emit('revoked', { terminalId: announcement.terminalId });
      room?.disconnectSockets(true);
    });
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  afterInit(namespace: Namespace): void {
    this.namespace = namespace;
    namespace.use((socket, next) => {
      this.authenticate(socket).then(
        () => next(),
        (error: unknown) => next(error instanceof Refusal ? error : new Refusal('token-invalid', 'not accepted')),
      );
    });
  }

  /** Runs before the connection is accepted: a refusal reaches the client as `connect_error`. */
  private async authenticate(socket: Socket): Promise<void> {
    const auth = (socket.handshake.auth ?? {}) as Partial<TerminalAuth>;
    if (typeof auth.token !== 'string' || auth.token === '') throw new Refusal('token-missing', 'missing device token');
    let claims: TokenClaims;
    try {
      claims = await verifyToken(this.jwt, auth.token);
    } catch (error) {
      throw error instanceof TokenRefused && error.reason === 'token-expired'
        ? new Refusal('token-expired', 'device token expired; enroll this terminal again')
        : new Refusal('token-invalid', 'invalid device token');
    }
    if (claims.role !== 'terminal' || !claims.storeId) {
      throw new Refusal('not-a-terminal', 'only device tokens may connect to /terminal');
    }
    // DEVICE_TOKEN_MAX_AGE_DAYS: expired past it, renewed (with hello) past half of it.
    const maxAgeMs = this.config.DEVICE_TOKEN_MAX_AGE_DAYS * DAY_MS;
    const verdict = deviceTokenVerdict(claims, maxAgeMs, Date.now());
    if (verdict.kind === 'expired')
      throw new Refusal('token-expired', 'device token expired; enroll this terminal again');
    let renewedToken: string | undefined;
    let expiresAt: number;
    if (verdict.kind === 'renew') {
      renewedToken = await this.deviceToken(verdict.claims);
      expiresAt = Date.now() + maxAgeMs;
    } else {
      expiresAt = verdict.expiresAt;
    }
    const cursor = auth.cursor ?? 0;
    if (!Number.isSafeInteger(cursor) || cursor < 0) {
      throw new Refusal('bad-cursor', 'cursor must be a non-negative integer (the last feedSeq held)');
    }
    if (auth.epoch !== undefined && typeof auth.epoch !== 'string') {
      throw new Refusal('bad-cursor', 'epoch must be the string sent in hello');
    }
    const keys = await this.models.keys();
    const terminal = await getTerminal(this.models.redis, keys, claims.sub);
    if (terminal?.status === 'revoked') throw new Refusal('terminal-revoked', 'this terminal was revoked');
    const data: SocketData = {
      session: {
        socket,
        storeId: claims.storeId,
        terminalId: claims.sub,
        claims,
        cursor,
        reset: false,
        closed: false,
      },
      epoch: await this.epoch.get(),
      requestedCursor: cursor,
      requestedEpoch: auth.epoch,
      renewedToken,
      issuedAt: renewedToken ? Date.now() : (claims.iat ?? 0) * 1_000,
      expiresAt,
      ref: `${this.identity.id}/${socket.id}`,
    };
    socket.data = data;
  }

  async handleConnection(socket: Socket): Promise<void> {
    // Before any await: a terminal may send as soon as it is connected.
    this.listen(socket);
    const data = socket.data as SocketData;
    const { session } = data;
    try {
      const keys = await this.models.keys();
      const [headSeq, store] = await Promise.all([
        feedHead(this.models.redis, keys, session.storeId),
        getStore(this.models.redis, keys, session.storeId),
      ]);
      // The rooms are the server's choice; a client has no way to join one.
      await socket.join([
        `store:${session.storeId}`,
        `terminal:${session.terminalId}`,
        ...(store ? [`region:${store.regionId}`] : []),
        ...(session.claims.roles ?? []).map((role) => `role:${role}`),
      ]);
      // A cursor from another epoch (or beyond the head) cannot be trusted: send the
      // whole feed again, marked, instead of leaving a silent gap. A cursor without an
      // epoch is taken as one of ours.
      const otherEpoch = data.requestedEpoch !== undefined && data.requestedEpoch !== data.epoch;
      const foreign = data.requestedCursor > 0 && (otherEpoch || data.requestedCursor > headSeq);
      if (foreign) {
        session.cursor = 0;
        session.reset = true;
      }
      const hello: Hello = {
        epoch: data.epoch,
        headSeq,
        storeId: session.storeId,
        terminalId: session.terminalId,
        ...(data.renewedToken ? { token: data.renewedToken } : {}),
      };
      socket.emit('hello', hello);
      this.relay.attach(session);
      void this.presence(session, 'terminal.connected');
      this.armLifetime(socket, data);
      await this.capConnections(data);
    } catch (error) {
      this.logger.warn(`terminal ${session.terminalId} not served: ${(error as Error).message}`);
      socket.disconnect(true);
    }
  }

  handleDisconnect(socket: Socket): void {
    const data = socket.data as SocketData | undefined;
    if (!data?.session) return;
    data.cancelExpiry?.();
    this.relay.detach(data.session);
    void this.presence(data.session, 'terminal.disconnected');
    void this.connections.unregister(data.session.terminalId, data.ref).catch(() => undefined);
  }

  /**
   * The socket ends when its token does; a tablet that stays connected past half of the
   * token's age gets a renewed one as `token` (so it never has to re-enroll while online).
   * The expiry then follows the renewed token.
   */
  private armLifetime(socket: Socket, data: SocketData): void {
    data.cancelExpiry = socketLifetime({
      issuedAt: data.issuedAt,
      expiresAt: data.expiresAt,
      maxAgeMs: this.config.DEVICE_TOKEN_MAX_AGE_DAYS * DAY_MS,
      expire: () => {
        const expired: TokenExpired = { reason: 'token-expired' };
        socket.emit('token-expired', expired);
        socket.disconnect(true);
      },
      renew: async () => {
        if (socket.disconnected) return undefined;
        const renewed: TokenRenewed = { token: await this.deviceToken(identityOf(data.session.claims)) };
        socket.emit('token', renewed);
        return Date.now();
      },
    });
  }

  /** A device token (DEVICE_TOKEN_MAX_AGE_DAYS) for these claims. */
  private deviceToken(claims: TokenClaims): Promise<string> {
    return this.jwt.signAsync(claims, { expiresIn: `${this.config.DEVICE_TOKEN_MAX_AGE_DAYS}d` });
  }

  /** TERMINAL_MAX_SOCKETS per terminal id across gateways: the oldest beyond it are dropped. */
  private async capConnections(data: SocketData): Promise<void> {
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

  private async presence(session: TerminalSession, type: 'terminal.connected' | 'terminal.disconnected') {
    const id = randomUUID();
    const base = { storeId: session.storeId, terminalId: session.terminalId, gatewayId: this.identity.id };
    const data =
      type === 'terminal.connected'
        ? base
        : { ...base, reason: session.socket.disconnected ? 'disconnected' : 'closed' };
    const event = storeActivityEvent(type, id, this.actorOf(session), data) as DomainEvent;
    await this.writer.send(session.storeId, event).catch((error: unknown) => {
      this.logger.warn(`presence of ${session.terminalId} not recorded: ${(error as Error).message}`);
    });
  }

  /**
   * Client → server messages, each answered through its ack callback. Plain listeners
   * rather than @SubscribeMessage: Nest binds every decorated handler to every socket
   * through an RxJS pipeline (about 16 subscribers and 60 closures per terminal for
   * these four), which was the largest part of the gateway's memory per connection.
   */
  private readonly handlers: Record<keyof TerminalClientEvents, (socket: Socket, body: unknown) => Promise<Ack>> = {
    receipt: (socket, body) => this.receipt(socket, body),
    'task.complete': (socket, body) => this.completeTask(socket, body),
    'quiz.answer': (socket, body) => this.answerQuiz(socket, body),
    'report.file': (socket, body) => this.fileReport(socket, body),
  };

  private listen(socket: Socket): void {
    for (const [event, handler] of Object.entries(this.handlers)) {
      socket.on(event, (body: unknown, ack?: unknown) => {
        // The per-terminal token bucket comes first: a refused message costs no I/O.
        const verdict = this.budget.take((socket.data as SocketData).session.terminalId);
        if (verdict !== 'ok') {
          if (typeof ack === 'function') ack({ ok: false, error: { message: RATE_LIMITED } } satisfies Ack);
          if (verdict === 'flooding') {
            this.logger.warn(`terminal ${(socket.data as SocketData).session.terminalId} disconnected: flooding`);
            socket.disconnect(true);
          }
          return;
        }
        void handler(socket, body)
          .catch((error: unknown): Ack => {
            this.logger.warn(`${event} not handled: ${(error as Error).message}`);
            return { ok: false, error: { message: 'not recorded; retry' } };
          })
          .then((answer) => {
            if (typeof ack === 'function') ack(answer);
          });
      });
    }
  }

  private actorOf(session: TerminalSession): Actor {
    return { id: session.terminalId, role: 'terminal', storeId: session.storeId };
  }

  receipt(socket: Socket, body: unknown): Promise<Ack> {
    return this.handle(socket, body, async (session) => {
      const receipt = await parseMessage(ReceiptDto, body);
      await this.requireInFeed(session, receipt.communicationId, receipt.revision);
      const { communicationId, kind, revision } = receipt;
      const id = this.writer.factId(session.terminalId, kind, communicationId, String(revision));
      return this.writer.record(`receipt.${kind}`, id, this.actorOf(session), {
        storeId: session.storeId,
        terminalId: session.terminalId,
        communicationId,
        revision,
      });
    });
  }

  completeTask(socket: Socket, body: unknown): Promise<Ack> {
    return this.handle(socket, body, async (session) => {
      const task = await parseMessage(TaskCompleteDto, body);
      await this.requireInFeed(session, task.communicationId, task.revision);
      const id = this.writer.factId(session.terminalId, 'completed', task.communicationId, String(task.revision));
      return this.writer.record('task.completed', id, this.actorOf(session), {
        storeId: session.storeId,
        terminalId: session.terminalId,
        communicationId: task.communicationId,
        revision: task.revision,
        ...(task.note !== undefined ? { note: task.note } : {}),
        ...(task.photoUrl !== undefined ? { photoUrl: task.photoUrl } : {}),
      });
    });
  }

  answerQuiz(socket: Socket, body: unknown): Promise<Ack> {
    return this.handle(socket, body, async (session) => {
      const quiz = await parseMessage(QuizAnswerDto, body);
      await this.requireInFeed(session, quiz.communicationId, quiz.revision);
      const communication = await getCommunication(this.models.redis, await this.models.keys(), quiz.communicationId);
      const questions = communication?.questions ?? [];
      if (questions.length === 0) throw new Rejected(`communication ${quiz.communicationId} has no questions`);
      if (quiz.answers.length !== questions.length) {
        throw new InvalidMessage({ answers: [`must answer each of the ${questions.length} questions`] });
      }
      const correct = questions.filter((question, i) => question.answer === quiz.answers[i]).length;
      const id = this.writer.factId(session.terminalId, 'quiz', quiz.communicationId, String(quiz.revision));
      return this.writer.record('quiz.answered', id, this.actorOf(session), {
        storeId: session.storeId,
        terminalId: session.terminalId,
        communicationId: quiz.communicationId,
        revision: quiz.revision,
        answers: quiz.answers,
        // The share of correct answers, scored here: the answers never leave head office.
        score: correct / questions.length,
      });
    });
  }

  fileReport(socket: Socket, body: unknown): Promise<Ack> {
    return this.handle(socket, body, async (session) => {
      const report = await parseMessage(ReportFileDto, body);
      const reportId = report.reportId ?? randomUUID();
      const id = this.writer.factId(session.terminalId, 'report', reportId);
      // A resend of a filed report is answered as such, even with the hour's quota spent.
      if (await this.writer.recorded(id)) return { duplicate: true };
      // TERMINAL_REPORTS_PER_HOUR: a slot is reserved first and given back unless a new report was written.
      const slot = await this.reports.reserve(session.terminalId);
      if (!slot)
        throw new Rejected(`report limit reached: at most ${this.reports.perHour} reports an hour per terminal`);
      let written = false;
      try {
        const outcome = await this.writer.record('report.filed', id, this.actorOf(session), {
          storeId: session.storeId,
          reportId,
          title: report.title,
          body: report.body,
          authorId: session.terminalId,
        });
        written = !outcome.duplicate;
        return outcome;
      } finally {
        if (!written) await slot.release().catch(() => undefined);
      }
    });
  }

  /** Size check, validation and authorisation errors become `{ ok: false, error }`; nothing is written. */
  private async handle(
    socket: Socket,
    body: unknown,
    work: (session: TerminalSession) => Promise<{ duplicate: boolean }>,
  ): Promise<Ack> {
    const { session } = socket.data as SocketData;
    try {
      if (Buffer.byteLength(JSON.stringify(body ?? null)) > MAX_MESSAGE_BYTES) {
        throw new Rejected(`message larger than ${MAX_MESSAGE_BYTES} bytes`);
      }
      const { duplicate } = await work(session);
      return duplicate ? { ok: true, duplicate: true } : { ok: true };
    } catch (error) {
      if (error instanceof InvalidMessage)
        return { ok: false, error: { message: error.message, fields: error.fields } };
      if (error instanceof Rejected || error instanceof ActivityInFlight) {
        return { ok: false, error: { message: error.message } };
      }
      this.logger.warn(`message from ${session.terminalId} not recorded: ${(error as Error).message}`);
      return { ok: false, error: { message: 'not recorded, the event log is unreachable; retry' } };
    }
  }

  /**
   * A terminal reports only on what its own store's feed carried, and on no revision
   * newer than the communication's. The projector writes the revision a moment after the
   * feed item may have reached the terminal, so a newer one is re-checked briefly first.
   */
  private async requireInFeed(session: TerminalSession, communicationId: string, revision: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { targeted, revision: current } = await factContext(
        this.models.redis,
        await this.models.keys(),
        communicationId,
        session.storeId,
      );
      if (!targeted) throw new Rejected(`communication ${communicationId} is not in this store's feed`);
      if (current !== undefined && revision <= current) return;
      if (attempt >= REVISION_WAITS_MS.length) {
        throw new InvalidMessage({
          revision: [`must not exceed the communication's current revision (${current ?? 'unknown'})`],
        });
      }
      await new Promise((resolve) => setTimeout(resolve, REVISION_WAITS_MS[attempt]));
    }
  }
}
