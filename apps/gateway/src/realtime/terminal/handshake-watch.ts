/**
 * Names the step a terminal's handshake is waiting on when it takes long. A handshake
 * that hangs (a Redis read that never answers, a promise nobody settles) otherwise leaves
 * no trace: the client only sees no hello, and the gateway logs nothing.
 *
 * Each handshake gets a `HandshakeSteps` (one timer, cleared when it ends); past
 * `slowMs` it logs once which step it waits on, and when it ends after that, how long it
 * took. Steps are names, not spans: what it costs is a string assignment per step.
 */
export interface HandshakeLogger {
  warn(message: string): void;
}

export class HandshakeSteps {
  private step = 'start';
  private readonly started = Date.now();
  private timer?: ReturnType<typeof setTimeout>;
  private slow = false;

  constructor(
    private label: string,
    private readonly logger: HandshakeLogger,
    slowMs: number,
    gone: () => boolean,
  ) {
    this.timer = setTimeout(() => {
      // A client that left meanwhile: nothing waits for this handshake any more (one
      // accepted after its client closed never reaches the connection handler).
      if (gone()) return;
      this.slow = true;
      this.logger.warn(
        `terminal handshake ${this.label} slow: waiting on "${this.step}" after ${Date.now() - this.started} ms`,
      );
    }, slowMs);
    this.timer.unref?.();
  }

  /** Who is shaking hands, once known (the terminal id from its token). */
  identify(label: string): void {
    this.label = label;
  }

  /** The handshake now waits on `step`. */
  at(step: string): void {
    this.step = step;
  }

  /** The handshake ended (`outcome`: served, refused, not served); logged only if it had been slow. */
  done(outcome: string): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.slow)
      this.logger.warn(
        `terminal handshake ${this.label} ended (${outcome}) after ${Date.now() - this.started} ms, last step "${this.step}"`,
      );
  }
}

export class HandshakeWatch {
  constructor(
    private readonly logger: HandshakeLogger,
    private readonly slowMs = 5_000,
  ) {}

  /** `gone`: whether the client has left (then a slow handshake is not logged). */
  begin(label: string, gone: () => boolean = () => false): HandshakeSteps {
    return new HandshakeSteps(label, this.logger, this.slowMs, gone);
  }
}
