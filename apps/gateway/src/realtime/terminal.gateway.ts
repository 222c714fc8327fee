import { Inject, Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import {
  NOT_RECORDED,
  RATE_LIMITED,
  SCREEN_READ_ONLY,
  READ_MODELS_UNAVAILABLE,
  TERMINAL_NAMESPACE,
  type Ack,
  type EarlierAck,
  type ReceiptsAck,
  type TerminalClientEvents,
} from '@lastmeter/contracts';
import { GatewayMetrics } from './gateway-metrics';
import { MessageBudget, type BudgetVerdict } from './limits/message-budget';
import { TerminalAuthentication } from './terminal/authentication';
import { EarlierHandler } from './terminal/earlier.handler';
import { answerMessage, type TerminalMessageHandler } from './terminal/message';
import { TerminalPresence } from './terminal/presence';
import { QuizAnswerHandler } from './terminal/quiz-answer.handler';
import { SurveyAnswerHandler } from './terminal/survey-answer.handler';
import { ReceiptHandler } from './terminal/receipt.handler';
import { ReceiptsHandler } from './terminal/receipts.handler';
import { ReportFileHandler } from './terminal/report-file.handler';
import { TerminalResume } from './terminal/resume';
import { TaskCompleteHandler } from './terminal/task-complete.handler';
import { terminalData, type TerminalSocketData } from './terminal/terminal-socket';

/** A client event's listener; Socket.IO calls it with the socket as `this`. */
type SocketListener = (this: Socket, body: unknown, ack?: unknown) => void;

/**
 * `/terminal` (docs/design.md section 6), a router: each connection is authenticated
 * before it is accepted (TerminalAuthentication), then resumed (TerminalResume: rooms,
 * hello, the feed after its cursor) and counted present (TerminalPresence); each
 * client → server message, within the terminal's message budget, goes to the handler of
 * its event under ./terminal, which writes the store → head office fact to Kafka once;
 * the ack follows only after Kafka has it.
 */
@WebSocketGateway({
  namespace: TERMINAL_NAMESPACE,
  maxHttpBufferSize: 256 * 1024,
  pingInterval: 10_000,
  pingTimeout: 5_000,
})
export class TerminalGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy {
  private readonly logger = new Logger(TerminalGateway.name);
  private readonly budget: MessageBudget;
  private readonly sweeper: NodeJS.Timeout;
  private readonly handlers: Record<keyof TerminalClientEvents, TerminalMessageHandler>;
  private readonly listeners: Array<[string, SocketListener]>;

  constructor(
    private readonly authentication: TerminalAuthentication,
    private readonly resume: TerminalResume,
    private readonly presence: TerminalPresence,
    receipts: ReceiptHandler,
    tasks: TaskCompleteHandler,
    quizzes: QuizAnswerHandler,
    reports: ReportFileHandler,
    surveys: SurveyAnswerHandler,
    private readonly batches: ReceiptsHandler,
    private readonly earlier: EarlierHandler,
    @Inject(APP_CONFIG) config: AppConfig<'gateway'>,
    private readonly metrics: GatewayMetrics,
  ) {
    this.handlers = {
      receipt: receipts,
      'task.complete': tasks,
      'quiz.answer': quizzes,
      'report.file': reports,
      'survey.answer': surveys,
    };
    this.budget = new MessageBudget({
      rate: config.TERMINAL_MESSAGE_RATE,
      burst: config.TERMINAL_MESSAGE_BURST,
      strikes: config.TERMINAL_FLOOD_STRIKES,
    });
    this.sweeper = setInterval(() => this.budget.sweep(), 10_000).unref();
    this.listeners = this.makeListeners();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  afterInit(namespace: Namespace): void {
    this.metrics.track('terminal', namespace);
    this.authentication.guard(namespace);
    this.presence.track(namespace);
  }

  async handleConnection(socket: Socket): Promise<void> {
    // Before any await: a terminal may send as soon as it is connected.
    this.listen(socket);
    const data = terminalData(socket);
    const steps = data.handshake;
    try {
      await this.resume.start(data);
      this.presence.connected(data);
      this.authentication.armLifetime(socket, data);
      steps?.at('connection cap');
      await this.presence.capConnections(data);
      steps?.done('served');
    } catch (error) {
      steps?.done('not served');
      this.logger.warn(`terminal ${data.session.terminalId} not served: ${(error as Error).message}`);
      socket.disconnect(true);
    } finally {
      data.handshake = undefined;
    }
  }

  handleDisconnect(socket: Socket): void {
    const data = socket.data as TerminalSocketData | undefined;
    if (!data?.session) return;
    this.authentication.disarmLifetime(data);
    this.resume.stop(data);
    this.presence.disconnected(data);
  }

  /**
   * Client → server messages, each answered through its ack callback. Plain listeners
   * rather than @SubscribeMessage: Nest binds every decorated handler to every socket
   * through an RxJS pipeline (about 16 subscribers and 60 closures per terminal for
   * these four), which was the largest part of the gateway's memory per connection. The
   * listeners are made once and shared by every socket (Node calls a listener with
   * `this` set to its emitter, the socket), so a connection adds no closures of ours.
   */
  private listen(socket: Socket): void {
    for (const [event, listener] of this.listeners) socket.on(event, listener);
  }

  /** The listener of each client event, shared by every socket (see `listen`). */
  private makeListeners(): Array<[string, SocketListener]> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the listeners' own `this` is the socket
    const gateway = this;
    const messages = Object.entries(this.handlers).map(([event, handler]): [string, SocketListener] => [
      event,
      function (this: Socket, body, ack) {
        gateway.onMessage(this, event, handler, body, ack);
      },
    ]);
    return [
      ...messages,
      [
        'receipts',
        function (this: Socket, body, ack) {
          gateway.onReceipts(this, body, ack);
        },
      ],
      [
        'feed.earlier',
        function (this: Socket, body, ack) {
          gateway.onEarlier(this, body, ack);
        },
      ],
    ];
  }

  private onMessage(socket: Socket, event: string, handler: TerminalMessageHandler, body: unknown, ack: unknown) {
    const { session } = terminalData(socket);
    // The per-terminal token bucket comes first: a refused message costs no I/O.
    if (!this.admit(socket, this.budget.take(session.terminalId), ack)) return;
    void answerMessage(handler, session, body, this.logger)
      .catch((error: unknown): Ack => {
        this.logger.warn(`${event} not handled: ${(error as Error).message}`);
        return { ok: false, error: { message: NOT_RECORDED } };
      })
      .then((answer) => {
        if (typeof ack === 'function') ack(answer);
      });
  }

  /** Many receipts in one message: a token per item, as many items as there are tokens. */
  private onReceipts(socket: Socket, body: unknown, ack: unknown) {
    const { session } = terminalData(socket);
    const { granted, verdict } = this.budget.takeUpTo(session.terminalId, ReceiptsHandler.cost(body));
    if (!this.admit(socket, verdict, ack)) return;
    void this.batches
      .handle(session, body, granted, this.logger)
      .catch((error: unknown): ReceiptsAck => {
        this.logger.warn(`receipts not handled: ${(error as Error).message}`);
        return { ok: false, error: { message: NOT_RECORDED } };
      })
      .then((answer) => {
        if (typeof ack === 'function') ack(answer);
      });
  }

  /** Older entries of the store's feed ("earlier items"): a read, one token. */
  private onEarlier(socket: Socket, body: unknown, ack: unknown) {
    const { session } = terminalData(socket);
    if (!this.admit(socket, this.budget.take(session.terminalId), ack)) return;
    void this.earlier
      .handle(session, body)
      .catch((error: unknown): EarlierAck => {
        this.logger.warn(`feed.earlier not answered: ${(error as Error).message}`);
        return { ok: false, error: { message: READ_MODELS_UNAVAILABLE } };
      })
      .then((answer) => {
        if (typeof ack === 'function') ack(answer);
      });
  }

  /**
   * Whether the message may go ahead; otherwise it is answered (a screen: read only;
   * over the budget: rate-limited, and a flooder is cut off).
   */
  private admit(socket: Socket, verdict: BudgetVerdict, ack: unknown): boolean {
    if (terminalData(socket).session.claims.role === 'screen') {
      if (typeof ack === 'function') ack({ ok: false, error: { message: SCREEN_READ_ONLY } } satisfies Ack);
      return false;
    }
    if (verdict === 'ok') return true;
    this.metrics.rateLimited(verdict === 'flooding' ? 'flooding' : 'rate-limited');
    if (typeof ack === 'function') ack({ ok: false, error: { message: RATE_LIMITED } } satisfies Ack);
    if (verdict === 'flooding') {
      this.logger.warn(`terminal ${terminalData(socket).session.terminalId} disconnected: flooding`);
      socket.disconnect(true);
    }
    return false;
  }
}
