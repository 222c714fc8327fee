import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { prettyFactory } from 'pino-pretty';
import { appNodeArgs, repoRoot, stopProcess } from '@lastmeter/infra';
import { color } from './output';

export interface AppSpec {
  /** Shown as the line prefix; also the app to run unless `app` says otherwise. */
  name: string;
  /** The app (`command`, `projector`, `gateway`) when `name` is an instance's (`gateway-2`). */
  app?: string;
  port: number;
  env: NodeJS.ProcessEnv;
}

/** pino-http's request lines as `GET /v1/stores 200 4ms`; others as `[context] message`. */
export function formatMessage(log: Record<string, unknown>, messageKey: string): string {
  const context = typeof log.context === 'string' ? `[${log.context}] ` : '';
  const req = log.req as { method?: string; url?: string } | undefined;
  const res = log.res as { statusCode?: number } | undefined;
  if (req?.method && res?.statusCode !== undefined) {
    const time = typeof log.responseTime === 'number' ? ` ${log.responseTime}ms` : '';
    return `${context}${req.method} ${req.url} ${res.statusCode}${time}`;
  }
  return `${context}${String(log[messageKey] ?? '')}`;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
}

const STARTUP_NOISE = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
  'WebSocketsController',
]);
const PREFIX_COLORS = [color.cyan, color.magenta, color.blue, color.yellow];

/**
 * Runs the apps as child processes with prefixed, pretty-printed output (the apps
 * themselves always log JSON), restarts one that crashes with a capped backoff, and
 * stops them all on request. A process that dies at start-up three times in a row is
 * given up on: it would only repeat its error.
 */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private readonly pretty = prettyFactory({
    colorize: Boolean(process.stdout.isTTY),
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,app,req,res,responseTime,context,requestId',
    messageFormat: formatMessage,
    singleLine: true,
  });
  private stopping = false;
  private lastOutputAt = Date.now();
  private readonly verbose = ['debug', 'trace'].includes(process.env.LOG_LEVEL ?? '');
  private readonly killOnExit = () => {
    for (const child of this.children.values()) if (child.pid) killGroup(child.pid, 'SIGTERM');
  };

  constructor(
    private readonly apps: AppSpec[],
    private readonly onGiveUp: (name: string, reason: string) => void,
  ) {}

  start(): void {
    // The apps run in process groups of their own (a terminal's Ctrl-C reaches only us, and
    // we stop them once, in order); should this process end without stop(), they go too.
    process.once('exit', this.killOnExit);
    this.apps.forEach((app, index) => this.launch(app, PREFIX_COLORS[index % PREFIX_COLORS.length], 0));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.children.values()].map((child) => stopProcess(child.pid, 15_000)));
    process.removeListener('exit', this.killOnExit);
  }

  /** Resolves once the apps have printed nothing for `silentMs` (at most after `maxMs`). */
  async quiet(silentMs: number, maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (Date.now() < deadline && Date.now() - this.lastOutputAt < silentMs) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private launch(app: AppSpec, paint: (s: string) => string, failures: number): void {
    const program = app.app ?? app.name;
    const entry = join(repoRoot(), 'dist', 'apps', program, 'src', 'main.js');
    const startedAt = Date.now();
    const child = spawn(process.execPath, [...appNodeArgs(program), entry], {
      env: app.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.children.set(app.name, child);
    const prefix = paint(`[${app.name}]`.padEnd(12));
    const print = (line: string) => {
      this.lastOutputAt = Date.now();
      let text = line;
      if (line.startsWith('{')) {
        try {
          const entry = JSON.parse(line) as { context?: string; level?: number };
          // Nest's start-up inventory (modules, routes) is noise at a terminal; debug shows it.
          if (!this.verbose && entry.level === 30 && STARTUP_NOISE.has(entry.context ?? '')) return;
          text = this.pretty(entry).trimEnd();
        } catch {
          // not JSON after all
        }
      }
      process.stdout.write(`${prefix} ${text}\n`);
    };
    let lastLine = '';
    createInterface({ input: child.stdout! }).on('line', print);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      lastLine = line;
      print(line);
    });
    child.once('exit', (code, signal) => {
      this.children.delete(app.name);
      if (this.stopping) return;
      const early = Date.now() - startedAt < 10_000;
      const streak = early ? failures + 1 : 0;
      if (streak >= 3) {
        this.onGiveUp(app.name, lastLine || `exited with ${signal ?? code}`);
        return;
      }
      const delay = Math.min(1_000 * 2 ** streak, 30_000);
      process.stdout.write(
        `${prefix} ${color.red(`exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000} s`)}\n`,
      );
      setTimeout(() => !this.stopping && this.launch(app, paint, streak), delay);
    });
  }
}
