import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { appNodeArgs, freePort } from '@lastmeter/infra';
import { SUITE_APPS, type DigestedApp } from './app-digest';
import { eventually } from './eventually';
import { projectorBookkeeping } from './read-side';

export type AppName = 'command' | 'projector' | 'gateway';

const ROOT = join(__dirname, '..', '..');
const running = new Set<ChildProcess>();
/** Every app this suite started, for the digest a failed test reports (app-digest.ts). */
const started: DigestedApp[] = [];
(globalThis as Record<string, unknown>)[SUITE_APPS] = started;

/** Kills every app process this test file started (setup-after-env calls it in afterAll). */
export async function killAllApps(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  running.clear();
}

/** A real app process (built output in dist/), as production runs it. */
export interface RunningApp {
  name: AppName;
  port: number;
  url: string;
  process: ChildProcess;
  /** Every line the process wrote, stdout and stderr. */
  output: string[];
  /** Parsed JSON log lines. */
  logs(): Array<Record<string, unknown>>;
  stop(): Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export function spawnApp(
  name: AppName,
  env: NodeJS.ProcessEnv,
): Omit<RunningApp, 'port' | 'url'> & { port: number; url: string } {
  const port = Number(env[`${name.toUpperCase()}_PORT`] ?? 0);
  const child = spawn(process.execPath, [...appNodeArgs(name), join(ROOT, 'dist', 'apps', name, 'src', 'main.js')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const output: string[] = [];
  // LASTMETER_TEST_APP_LOGS=<dir> keeps every app's output in <dir>/<app>-<pid>.log.
  const logDir = process.env.LASTMETER_TEST_APP_LOGS;
  const file = logDir ? createWriteStream(join(logDir, `${name}-${child.pid}.log`)) : undefined;
  const record = (line: string) => {
    output.push(line);
    file?.write(`${line}\n`);
  };
  createInterface({ input: child.stdout! }).on('line', record);
  createInterface({ input: child.stderr! }).on('line', record);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  started.push({
    name,
    pid: child.pid,
    output,
    ended: () => (child.exitCode !== null ? `exit ${child.exitCode}` : (child.signalCode ?? undefined)),
  });
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    process: child,
    output,
    logs: () =>
      output.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    stop: () => kill('SIGTERM'),
    kill,
    exited,
  };
}

/** Starts an app on a free port and waits until it serves /v1/health/live. */
export async function startApp(name: AppName, env: NodeJS.ProcessEnv): Promise<RunningApp> {
  const port = await freePort();
  const app = spawnApp(name, { ...env, [`${name.toUpperCase()}_PORT`]: String(port) });
  let exitCode: number | null | undefined;
  void app.exited.then((code) => (exitCode = code));
  await eventually(
    async () => {
      if (exitCode !== undefined)
        throw new Error(`${name} exited with ${exitCode}:\n${app.output.slice(-20).join('\n')}`);
      const response = await fetch(`${app.url}/v1/health/live`);
      expect(response.status).toBe(200);
    },
    { timeoutMs: 30_000, what: `${name} to serve /v1/health/live` },
  );
  return app;
}

/**
 * The three apps, once each serves and the projector has made its own first writes
 * (heartbeat, intact mark): a suite that compares Redis keys before and after a request
 * does not find them appearing in between.
 */
export async function startApps(env: NodeJS.ProcessEnv): Promise<Record<AppName, RunningApp>> {
  const [command, projector, gateway] = await Promise.all(
    (['command', 'projector', 'gateway'] as const).map((name) => startApp(name, env)),
  );
  await projectorBookkeeping(env);
  return { command, projector, gateway };
}

/**
 * The three apps as `npm start` runs them for a browser: the gateway tells the page where
 * the command service is (COMMAND_PUBLIC_URL), which lets the page's origin call it (CORS:
 * any origin unless `commandEnv` says otherwise). Like startApps, it returns once the
 * projector has marked its generation whole: on a new deployment the projector's first
 * check finds the writes made before it and has readers answer 503 until it has projected
 * them, so a suite that wrote in that second saw a read answered 200, then 503 (CI did).
 */
export async function startAppsForBrowser(
  env: NodeJS.ProcessEnv,
  commandEnv: NodeJS.ProcessEnv = { CORS_ORIGINS: '*' },
): Promise<Record<AppName, RunningApp>> {
  const command = await startApp('command', { ...env, ...commandEnv });
  const [projector, gateway] = await Promise.all([
    startApp('projector', env),
    startApp('gateway', { ...env, COMMAND_PUBLIC_URL: command.url }),
  ]);
  await projectorBookkeeping(env);
  return { command, projector, gateway };
}

export async function stopApps(apps: Partial<Record<AppName, RunningApp>> | undefined): Promise<void> {
  if (!apps) return;
  await Promise.all(Object.values(apps).map((app) => app?.stop()));
}

/** Starts the same app again on the same port (terminals reconnect to the address they know). */
export async function restartOnSamePort(app: RunningApp, env: NodeJS.ProcessEnv): Promise<RunningApp> {
  const restarted = spawnApp(app.name, { ...env, [`${app.name.toUpperCase()}_PORT`]: String(app.port) });
  await eventually(
    async () => {
      const response = await fetch(`${restarted.url}/v1/health/live`);
      expect(response.status).toBe(200);
    },
    { timeoutMs: 30_000, what: `${app.name} to serve again on port ${app.port}` },
  );
  return restarted;
}
