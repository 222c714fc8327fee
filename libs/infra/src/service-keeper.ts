import { setTimeout as sleep } from 'node:timers/promises';

/** A local server the keeper can bring back: LocalKafka or LocalRedis. */
export interface KeptService {
  readonly pid: number | undefined;
  start(timeoutMs?: number, signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
  /** `listener` runs once, when the process running now exits, with a one-line reason. */
  onExit(listener: (reason: string) => void): void;
}

export interface ServiceKeeperOptions {
  /** For the log lines: "Kafka", "Redis". */
  name: string;
  /** Aborted when we stop the service on purpose: no restart after that. */
  signal: AbortSignal;
  log: (line: string) => void;
  /** The service is running again as `pid` (record it where `infra status` looks). */
  restarted: (pid: number | undefined) => void;
  /** It failed `maxFailures` times in a row: to start, or to stay up for `stableMs`. */
  gaveUp: (reason: string) => void;
  maxFailures?: number;
  stableMs?: number;
  /** The wait before the nth restart in a row (n from 0). */
  backoffMs?: (n: number) => number;
}

/** 1 s, 2 s, 4 s … capped at 30 s, as the app supervisor does. */
export const defaultBackoffMs = (n: number): number => Math.min(1_000 * 2 ** n, 30_000);

/**
 * Restarts a server that `npm start` started when it dies under it (a kill -9, an OOM,
 * a crash), on the same port and data directory, with a capped backoff. The apps ride
 * out the outage with their own reconnects; without this they would wait for someone
 * to run `lastmeter infra up`. A service that keeps failing is given up on, once.
 */
export class ServiceKeeper {
  private failures = 0;
  private upSince = Date.now();
  private restarting: Promise<void> = Promise.resolve();
  private readonly maxFailures: number;
  private readonly stableMs: number;
  private readonly backoffMs: (n: number) => number;

  constructor(
    private readonly service: KeptService,
    private readonly options: ServiceKeeperOptions,
  ) {
    this.maxFailures = options.maxFailures ?? 5;
    this.stableMs = options.stableMs ?? 60_000;
    this.backoffMs = options.backoffMs ?? defaultBackoffMs;
  }

  /** Watches the process running now (call after a successful start). */
  watch(): void {
    this.upSince = Date.now();
    this.service.onExit((reason) => {
      if (this.options.signal.aborted) return;
      // A service that stayed up a while starts a new streak; a crash loop does not.
      this.failures = Date.now() - this.upSince >= this.stableMs ? 0 : this.failures + 1;
      this.restarting = this.restart(reason);
    });
  }

  /** Resolves once no restart is under way (stopping waits for it). */
  settled(): Promise<void> {
    return this.restarting;
  }

  private async restart(reason: string): Promise<void> {
    const { name, signal, log } = this.options;
    let last = reason;
    while (this.failures < this.maxFailures) {
      const delay = this.backoffMs(this.failures);
      log(`${name} stopped unexpectedly (${last}); restarting in ${delay / 1000} s`);
      // Stopping on purpose ends the wait at once.
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      try {
        await this.service.start(undefined, signal);
      } catch (error) {
        // A start that timed out may have left its process behind: never two at once.
        await this.service.stop();
        if (signal.aborted) return;
        this.failures += 1;
        last = (error as Error).message;
        continue;
      }
      if (signal.aborted) return;
      this.options.restarted(this.service.pid);
      log(`${name} is back (pid ${this.service.pid})`);
      this.watch();
      return;
    }
    this.options.gaveUp(last);
  }
}
