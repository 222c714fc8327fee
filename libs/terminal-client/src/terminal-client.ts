import { io, type Socket } from 'socket.io-client';
import {
  TERMINAL_NAMESPACE,
  isRetryable,
  MAX_RECEIPTS_PER_MESSAGE,
  type Ack,
  type ConnectRefusal,
  type EarlierAck,
  type EarlierPayload,
  type FeedMessage,
  type Hello,
  type FeedItems,
  type LiveSetChunk,
  type ReceiptPayload,
  type Reminder,
  type ReceiptsAck,
  type TerminalAuth,
  type TerminalClientEvents,
  isSaturated,
} from '@lastmeter/contracts';

/** Where a terminal keeps its place in the feed between runs (localStorage on a tablet). */
export interface CursorStore {
  load(): { cursor: number; epoch?: string } | undefined;
  save(position: { cursor: number; epoch: string }): void;
}

export class MemoryCursorStore implements CursorStore {
  private position?: { cursor: number; epoch?: string };
  constructor(initial?: { cursor: number; epoch?: string }) {
    this.position = initial;
  }
  load() {
    return this.position;
  }
  save(position: { cursor: number; epoch: string }) {
    this.position = position;
  }
}

export interface TerminalClientOptions {
  /** Gateway base URL, e.g. http://127.0.0.1:3000 (the client adds /terminal). */
  url: string;
  token: string;
  cursors?: CursorStore;
  /** How long to wait for an ack before sending again (same fact id: no duplicate). */
  ackTimeoutMs?: number;
  /** Give up on a message after this many attempts. */
  attempts?: number;
  /** Socket.IO reconnection (on by default). */
  reconnection?: boolean;
  /**
   * After the first hello, how long to wait before connecting again when a reconnect is
   * refused `unavailable` (the gateway cannot check the token for a moment); give or take
   * half. Socket.IO itself never retries a refused handshake. Default 5 s.
   */
  unavailableRetryMs?: number;
  transports?: Array<'websocket' | 'polling'>;
}

export class ConnectRefused extends Error {
  constructor(
    readonly reason: ConnectRefusal | 'unknown',
    message: string,
  ) {
    super(message);
  }
}

type Listener<T> = (value: T) => void;

/**
 * A store terminal's connection: connects with its token and persisted cursor, resumes
 * the feed where it left off (also after every reconnect), hands each item to `onItem`
 * once and in order (dropping anything at or below the cursor, defensively), persists
 * the cursor, and sends receipts and other facts with retry until acked. Without a
 * cursor it starts from the store's live set: `hello.snapshot` items (flagged
 * `snapshot`, handed to `onItem` one by one as they come), with `hello.headSeq` as the
 * cursor once they have all arrived (a connection lost half-way gets the live set
 * again). It asks for the live set in `feed.snapshot` chunks (`auth.snapshotChunks`)
 * and for items due at once in one `feed.items` message (`auth.feedBatches`), and also
 * takes them as one `feed` message per item (a gateway from before).
 */
export class TerminalClient {
  readonly socket: Socket;
  private cursor: number;
  private epoch?: string;
  private readonly cursors: CursorStore;
  private readonly items: Array<Listener<FeedMessage>> = [];
  private readonly hellos: Array<Listener<Hello>> = [];
  private readonly revocations: Array<Listener<void>> = [];
  private readonly reminders: Array<Listener<Reminder>> = [];
  private readonly tokens: Array<Listener<string>> = [];
  private readonly expirations: Array<Listener<void>> = [];
  private token: string;
  /** A live set being received: how many items are still to come, and the head it was taken at. */
  private snapshot?: { pending: number; headSeq: number };
  /** A hello came once: a refused reconnect is this client's to retry (the first connect is the app's). */
  private greeted = false;
  private closed = false;
  private retryTimer?: ReturnType<typeof setTimeout>;

  constructor(private readonly options: TerminalClientOptions) {
    this.token = options.token;
    this.cursors = options.cursors ?? new MemoryCursorStore();
    const saved = this.cursors.load();
    this.cursor = saved?.cursor ?? 0;
    this.epoch = saved?.epoch;
    this.socket = io(`${options.url}${TERMINAL_NAMESPACE}`, {
      autoConnect: false,
      reconnection: options.reconnection ?? true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5_000,
      transports: options.transports ?? ['websocket'],
      // A function, so every reconnect resumes from the latest cursor.
      auth: (callback) => callback(this.auth()),
    });
    this.socket.on('hello', (hello: Hello) => {
      this.greeted = true;
      this.epoch = hello.epoch;
      // The live set follows (hello.snapshot items), taken at headSeq: that is the cursor
      // once all of it has arrived, and live items come after it. Not before: a socket
      // lost half-way through would come back at headSeq and never get the rest.
      this.snapshot = undefined;
      if (hello.snapshot !== undefined) {
        this.snapshot = { pending: hello.snapshot, headSeq: hello.headSeq };
        if (hello.snapshot === 0) this.snapshotReceived();
      }
      // A renewed device token: use it from now on (and let the app store it).
      if (hello.token) {
        this.token = hello.token;
        for (const listener of this.tokens) listener(hello.token);
      }
      for (const listener of this.hellos) listener(hello);
    });
    // Renewed on a long-lived connection, past half of the token's age.
    this.socket.on('token', ({ token }: { token: string }) => {
      this.token = token;
      for (const listener of this.tokens) listener(token);
    });
    // The token expired (server side), or a reconnect was refused for it: enroll again.
    this.socket.on('token-expired', () => this.expired());
    this.socket.on('connect_error', (error: Error & { data?: { reason?: ConnectRefusal } }) => {
      if (error.data?.reason === 'token-expired') this.expired();
      // Refused for a moment (Redis failing over, read models re-projected): Socket.IO
      // does not retry a refused handshake, so a terminal that was connected would stay
      // offline for good. Come back in a few seconds, with the same cursor.
      if (error.data?.reason === 'unavailable' && this.greeted && !this.closed) {
        const ms = (this.options.unavailableRetryMs ?? 5_000) * (0.5 + Math.random());
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => !this.closed && this.socket.connect(), ms);
      }
    });
    this.socket.on('feed', (message: FeedMessage) => this.receive(message));
    // Many items in one message, of the live set (`feed.snapshot`) or due at once (a
    // backlog, a burst: `feed.items`): each handed over as its own `feed` would be.
    const receiveAll = ({ items }: LiveSetChunk | FeedItems) => {
      for (const message of items) this.receive(message);
    };
    this.socket.on('feed.snapshot', receiveAll);
    this.socket.on('feed.items', receiveAll);
    // Lost during a live set: the cursor is still the one before it, so the next connect
    // gets the live set again.
    this.socket.on('disconnect', () => (this.snapshot = undefined));
    this.socket.on('revoked', () => {
      for (const listener of this.revocations) listener();
    });
    this.socket.on('reminder', (reminder: Reminder) => {
      for (const listener of this.reminders) listener(reminder);
    });
  }

  private expired(): void {
    this.socket.disconnect();
    for (const listener of this.expirations) listener();
  }

  private auth(): TerminalAuth {
    return {
      token: this.token,
      cursor: this.cursor,
      ...(this.epoch ? { epoch: this.epoch } : {}),
      snapshotChunks: true,
      feedBatches: true,
    };
  }

  /** The whole live set is in: its head is the cursor from now on. */
  private snapshotReceived(): void {
    if (!this.snapshot) return;
    this.cursor = this.snapshot.headSeq;
    this.snapshot = undefined;
    if (this.epoch) this.cursors.save({ cursor: this.cursor, epoch: this.epoch });
  }

  private receive(message: FeedMessage): void {
    // An item of the live set announced by hello: at or below its head by design.
    if (message.snapshot) {
      for (const listener of this.items) listener(message);
      if (this.snapshot && --this.snapshot.pending <= 0) this.snapshotReceived();
      return;
    }
    // A live item: the gateway has sent the whole live set before it.
    this.snapshotReceived();
    if (message.reset) this.cursor = 0;
    if (message.feedSeq <= this.cursor) return;
    this.cursor = message.feedSeq;
    if (this.epoch) this.cursors.save({ cursor: this.cursor, epoch: this.epoch });
    for (const listener of this.items) listener(message);
  }

  /** The last feedSeq received. */
  get position(): number {
    return this.cursor;
  }

  onItem(listener: Listener<FeedMessage>): this {
    this.items.push(listener);
    return this;
  }

  onHello(listener: Listener<Hello>): this {
    this.hellos.push(listener);
    return this;
  }

  onRevoked(listener: Listener<void>): this {
    this.revocations.push(listener);
    return this;
  }

  /** A communication of the store is due and these people have not acknowledged it (issue 21). */
  onReminder(listener: Listener<Reminder>): this {
    this.reminders.push(listener);
    return this;
  }

  /** The gateway renewed the device token (with hello): persist it in place of the old one. */
  onToken(listener: Listener<string>): this {
    this.tokens.push(listener);
    return this;
  }

  /** The device token expired (DEVICE_TOKEN_MAX_AGE_DAYS): the terminal must be enrolled again. */
  onTokenExpired(listener: Listener<void>): this {
    this.expirations.push(listener);
    return this;
  }

  /** The device token in use (the enrolled one, or its latest renewal). */
  get currentToken(): string {
    return this.token;
  }

  /**
   * Connects; resolves with the first hello, rejects with ConnectRefused: refused at
   * the handshake (connect_error with a reason), or closed by the server before its
   * hello (revoked or not served in between; otherwise this would wait forever).
   */
  connect(): Promise<Hello> {
    return new Promise((resolve, reject) => {
      let revoked = false;
      const done = () => {
        this.socket.off('hello', onHello);
        this.socket.off('connect_error', onError);
        this.socket.off('revoked', onRevoked);
        this.socket.off('disconnect', onDisconnect);
      };
      const onHello = (hello: Hello) => {
        done();
        resolve(hello);
      };
      const onError = (error: Error & { data?: { reason?: ConnectRefusal } }) => {
        done();
        if (error.data?.reason) this.socket.disconnect();
        reject(new ConnectRefused(error.data?.reason ?? 'unknown', error.message));
      };
      const onRevoked = () => {
        revoked = true;
      };
      const onDisconnect = (reason: string) => {
        // A transport drop reconnects by itself; only the server's own close is final.
        if (reason !== 'io server disconnect') return;
        done();
        reject(
          new ConnectRefused(
            revoked ? 'terminal-revoked' : 'unknown',
            'the gateway closed the connection before hello',
          ),
        );
      };
      this.socket.once('hello', onHello);
      this.socket.once('connect_error', onError);
      this.socket.on('revoked', onRevoked);
      this.socket.on('disconnect', onDisconnect);
      this.socket.connect();
    });
  }

  /**
   * Sends a fact and resolves with the server's ack. Retries on timeout (across
   * reconnects: Socket.IO buffers while disconnected); the server recognises a resend
   * as the same fact. Also resends, after a pause, while the ack says to try again
   * later (rate-limited, busy, not confirmed, being recorded by another request).
   */
  async send<E extends keyof TerminalClientEvents>(event: E, payload: TerminalClientEvents[E]): Promise<Ack> {
    const attempts = this.options.attempts ?? 5;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const ack = (await this.socket.timeout(this.options.ackTimeoutMs ?? 5_000).emitWithAck(event, payload)) as Ack;
        if (!ack.ok && isRetryable(ack.error) && attempt < attempts) {
          await pause(ack.error, attempt);
          continue;
        }
        return ack;
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`${event} not acknowledged after ${attempts} attempts: ${(lastError as Error)?.message}`);
  }

  receipt(payload: TerminalClientEvents['receipt']): Promise<Ack> {
    return this.send('receipt', payload);
  }

  /**
   * Sends many receipts as `receipts` messages of up to MAX_RECEIPTS_PER_MESSAGE, and
   * resolves with one Ack per receipt, in order. Like `send`, it resends what timed out
   * and, after a pause, the receipts whose ack said to try again later (rate-limited
   * items beyond the terminal's budget, busy, not confirmed…), up to `attempts` times; a
   * receipt still unanswered then rejects the whole call, one answered with a retryable
   * error on the last attempt keeps that ack.
   */
  async receipts(items: ReceiptPayload[]): Promise<Ack[]> {
    const attempts = this.options.attempts ?? 5;
    const results: Array<Ack | undefined> = new Array(items.length).fill(undefined);
    let open = items.map((_, i) => i);
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts && open.length > 0; attempt++) {
      const again: number[] = [];
      let wait: Ack['error'];
      for (let from = 0; from < open.length; from += MAX_RECEIPTS_PER_MESSAGE) {
        const chunk = open.slice(from, from + MAX_RECEIPTS_PER_MESSAGE);
        let ack: ReceiptsAck;
        try {
          ack = (await this.socket
            .timeout(this.options.ackTimeoutMs ?? 5_000)
            .emitWithAck('receipts', { items: chunk.map((i) => items[i]) })) as ReceiptsAck;
        } catch (error) {
          lastError = error;
          again.push(...chunk);
          continue;
        }
        const answers: Ack[] = ack.ok ? ack.results : chunk.map(() => ({ ok: false, error: ack.error }));
        chunk.forEach((i, j) => {
          results[i] = answers[j];
          if (!answers[j].ok && isRetryable(answers[j].error) && attempt < attempts) {
            again.push(i);
            wait ??= answers[j].error;
          }
        });
      }
      open = again;
      if (open.length > 0 && wait && attempt < attempts) await pause(wait, attempt);
    }
    if (results.some((ack) => ack === undefined)) {
      throw new Error(`receipts not acknowledged after ${attempts} attempts: ${(lastError as Error)?.message}`);
    }
    return results as Ack[];
  }

  /**
   * Older entries of the store's feed ("earlier items"), newest first: up to `limit`
   * with feedSeq < `before`; `next` is the `before` of the following page (absent at the
   * start of the feed). History only: the cursor does not move, and nothing is received
   * through `onItem`.
   */
  async earlier(before: number, limit?: number): Promise<Extract<EarlierAck, { ok: true }>> {
    const payload: EarlierPayload = { before, ...(limit !== undefined ? { limit } : {}) };
    const attempts = this.options.attempts ?? 5;
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const ack = (await this.socket
          .timeout(this.options.ackTimeoutMs ?? 5_000)
          .emitWithAck('feed.earlier', payload)) as EarlierAck;
        if (ack.ok) return ack;
        last = new Error(ack.error.message);
        if (!isRetryable(ack.error) || attempt === attempts) throw last;
        await pause(ack.error, attempt);
      } catch (error) {
        if (error === last) throw error;
        last = error;
      }
    }
    throw new Error(`feed.earlier not answered after ${attempts} attempts: ${(last as Error)?.message}`);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket.disconnect();
  }
}

/**
 * Before resending: 1 s more each attempt when the gateway is saturated or recovering
 * (rate-limited: waiting for tokens; busy, not confirmed or not recorded: waiting for
 * Kafka; read models unavailable: waiting for Redis), 200 ms more each attempt
 * for a fact another request is recording; give or take half, so that a fleet refused at
 * the same moment does not come back at the same moment.
 */
function pause(error: Ack['error'], attempt: number): Promise<void> {
  const ms = (isSaturated(error?.message) ? 1_000 : 200) * attempt * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}
