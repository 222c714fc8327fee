import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRedisClient } from '@lastmeter/redis';
import { requireRedisServer } from './prerequisites';
import { spawnDaemon, stopProcess, waitUntil } from './processes';

export interface LocalRedisOptions {
  port: number;
  dataDir: string;
  logDir: string;
  /** AOF for `npm start` (data survives restarts), off for tests. */
  appendOnly: boolean;
  env?: NodeJS.ProcessEnv;
  keepAfterExit?: boolean;
  /** More redis-server arguments (`--replicaof host port` for a replica). */
  extraArgs?: string[];
}

/** A private redis-server on loopback; never the machine's shared one. */
export class LocalRedis {
  private child?: ChildProcess;
  private exited?: string;

  constructor(private readonly options: LocalRedisOptions) {}

  get url(): string {
    return `redis://127.0.0.1:${this.options.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** `listener` runs once, when the process running now exits (ServiceKeeper). */
  onExit(listener: (reason: string) => void): void {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return listener(this.exited ?? 'not running');
    child.once('exit', () => listener(this.exited!));
  }

  /** `signal`: aborting it stops waiting (and starts nothing if not started yet). */
  async start(timeoutMs = 15_000, signal?: AbortSignal): Promise<void> {
    const redisServer = requireRedisServer(this.options.env);
    const { dataDir, logDir, port, appendOnly } = this.options;
    signal?.throwIfAborted();
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(logDir, { recursive: true });
    this.exited = undefined;
    const child = spawnDaemon(
      redisServer,
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--dir',
        dataDir,
        '--appendonly',
        appendOnly ? 'yes' : 'no',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--daemonize',
        'no',
        '--protected-mode',
        'yes',
        '--logfile',
        join(logDir, 'redis.log'),
        ...(this.options.extraArgs ?? []),
      ],
      { logFile: join(logDir, 'redis.out'), env: this.options.env, keepAfterExit: this.options.keepAfterExit },
    );
    this.child = child;
    child.once('exit', (code, signal) => {
      this.exited = `redis-server exited (${signal ?? `code ${code}`}); see ${join(logDir, 'redis.log')}`;
    });
    await waitUntil(`Redis on ${this.url}`, () => pingRedis(this.url), {
      timeoutMs,
      intervalMs: 100,
      failed: () => (signal?.aborted ? 'start-up cancelled' : this.exited),
    });
  }

  async stop(): Promise<void> {
    await stopProcess(this.child?.pid, 10_000);
    this.child = undefined;
  }

  async kill(): Promise<void> {
    const pid = this.child?.pid;
    if (pid) process.kill(pid, 'SIGKILL');
    await stopProcess(pid, 0);
    this.child = undefined;
  }
}

export async function pingRedis(url: string): Promise<boolean> {
  const client = createRedisClient(url, 'lastmeter-probe', {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
