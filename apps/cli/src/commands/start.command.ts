import { Command } from 'commander';
import { loadOrCreateDevSecrets } from '@lastmeter/auth';
import { APP_ENV_SPECS } from '@lastmeter/config';
import { isAlive, isPortFree, lastmeterHome, LocalInfra, waitUntil } from '@lastmeter/infra';
import { ensureTopicsFromEnv } from '@lastmeter/kafka';
import { color, info, UserFacingError } from '../output';
import { Supervisor, type AppSpec } from '../supervisor';
import { logIsEmpty, seedDemo, seedRefusal, waitUntilSeedVisible } from '../seed';

const DEFAULT_PORTS = {
  gateway: APP_ENV_SPECS.gateway.GATEWAY_PORT.default as number,
  command: APP_ENV_SPECS.command.COMMAND_PORT.default as number,
  projector: APP_ENV_SPECS.projector.PROJECTOR_PORT.default as number,
};

function portOf(name: keyof typeof DEFAULT_PORTS): number {
  const variable = `${name.toUpperCase()}_PORT`;
  const value = process.env[variable];
  if (value === undefined) return DEFAULT_PORTS[name];
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UserFacingError(`${variable}="${value}" is not a port`);
  return port;
}

/** `<APP>_INTERNAL_PORT` when set and not 0: where /metrics and /docs are served then. */
function internalPortOf(name: keyof typeof DEFAULT_PORTS): number | undefined {
  const variable = `${name.toUpperCase()}_INTERNAL_PORT`;
  const value = process.env[variable];
  if (value === undefined || value === '' || value === '0') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UserFacingError(`${variable}="${value}" is not a port`);
  return port;
}

/**
 * The origins the command service lets call it (CORS_ORIGINS, unless set): the pages of
 * this gateway as a browser on this machine reaches them, and at the host of
 * COMMAND_PUBLIC_URL (tablets on the store network: `HOST=0.0.0.0 COMMAND_PUBLIC_URL=…`).
 */
export function gatewayOrigins(gatewayPort: number, commandPublicUrl: string | undefined): string {
  const hosts = new Set(['localhost', '127.0.0.1']);
  if (commandPublicUrl) {
    try {
      hosts.add(new URL(commandPublicUrl).hostname);
    } catch {
      // Not a URL: the apps' own validation reports it.
    }
  }
  return [...hosts].map((host) => `http://${host}:${gatewayPort}`).join(',');
}

/**
 * What every app started here is given: the infrastructure, the dev secrets, and where
 * browsers reach the command API (`ports.command`, a balancer in the cluster profile).
 */
export function appEnvironment(
  endpoints: { kafkaBrokers: string; redisUrl: string },
  secrets: ReturnType<typeof loadOrCreateDevSecrets>,
  ports: { gateway: number; command: number },
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KAFKA_BROKERS: endpoints.kafkaBrokers,
    REDIS_URL: endpoints.redisUrl,
    LASTMETER_JWT_SECRET: secrets.jwtSecret,
    LASTMETER_ADMIN_USER: secrets.adminUser,
    LASTMETER_ADMIN_PASSWORD: secrets.adminPassword,
    // Where browsers of the web UIs send commands (set it yourself to reach a LAN address).
    COMMAND_PUBLIC_URL: process.env.COMMAND_PUBLIC_URL || `http://127.0.0.1:${ports.command}`,
    // ...and the command service accepts them from this gateway's pages only.
    CORS_ORIGINS: process.env.CORS_ORIGINS || gatewayOrigins(ports.gateway, process.env.COMMAND_PUBLIC_URL),
  };
}

export async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  return response.ok;
}

export function startCommand(): Command {
  return new Command('start')
    .description('start Kafka, Redis and all apps; Ctrl-C stops what it started')
    .action(async () => {
      const home = lastmeterHome();
      const ports = { gateway: portOf('gateway'), command: portOf('command'), projector: portOf('projector') };
      const internalPorts = {
        gateway: internalPortOf('gateway'),
        command: internalPortOf('command'),
        projector: internalPortOf('projector'),
      };
      for (const [name, port] of Object.entries(ports)) {
        if (!(await isPortFree(port))) {
          throw new UserFacingError(
            `port ${port} for ${name} is in use; stop what uses it or set ${name.toUpperCase()}_PORT`,
          );
        }
      }
      for (const [name, port] of Object.entries(internalPorts)) {
        if (port !== undefined && !(await isPortFree(port))) {
          throw new UserFacingError(
            `internal port ${port} for ${name} is in use; stop what uses it or set ${name.toUpperCase()}_INTERNAL_PORT`,
          );
        }
      }

      const infra = new LocalInfra({ home, redisAppendOnly: true, log: info });
      let shuttingDown = false;
      const supervisor: { current?: Supervisor } = {};
      /**
       * The one exit path once anything may have been started: the apps, then Kafka, then
       * Redis. Ctrl-C may come at any step of the start-up (a jar download, a broker still
       * booting, apps starting, the seed): LocalInfra then cancels what it is doing and
       * the interrupted step's failure is not reported (see `step`).
       */
      const shutdown = async (code: number) => {
        if (shuttingDown) return;
        shuttingDown = true;
        info('stopping…');
        try {
          await supervisor.current?.stop();
          await infra.stopStarted();
          info(`stopped; data kept in ${home.root}`);
        } catch (error) {
          process.stderr.write(`${color.red('lastmeter: while stopping:')} ${(error as Error).message}\n`);
          code = 1;
        }
        process.exit(code);
      };
      process.on('SIGINT', () => void shutdown(0));
      process.on('SIGTERM', () => void shutdown(0));
      /** A start-up step; if it fails because we are stopping, shutdown() has the last word. */
      const step = async <T>(work: Promise<T>): Promise<T> => {
        try {
          const result = await work;
          if (shuttingDown) return await new Promise<never>(() => undefined);
          return result;
        } catch (error) {
          // A terminal's Ctrl-C also reaches the tools we run in the foreground (mvn, the
          // broker's storage format) and their failure may surface before our own SIGINT
          // handler has run: give it that moment before reporting the failure.
          await new Promise((resolve) => setTimeout(resolve, 100));
          if (shuttingDown) return await new Promise<never>(() => undefined);
          throw error;
        }
      };

      let endpoints: Awaited<ReturnType<LocalInfra['up']>>;
      try {
        endpoints = await step(infra.up());
        await step(ensureTopicsFromEnv(endpoints.kafkaBrokers, info));
      } catch (error) {
        shuttingDown = true; // no Ctrl-C may start a second stop while this one runs
        await infra.stopStarted();
        throw error;
      }
      const secrets = loadOrCreateDevSecrets(home.secrets);
      const env: NodeJS.ProcessEnv = {
        ...appEnvironment(endpoints, secrets, ports),
        GATEWAY_PORT: String(ports.gateway),
        COMMAND_PORT: String(ports.command),
        PROJECTOR_PORT: String(ports.projector),
      };
      const apps: AppSpec[] = (['command', 'projector', 'gateway'] as const).map((name) => ({
        name,
        port: ports[name],
        env,
      }));
      supervisor.current = new Supervisor(apps, (name, reason) => {
        process.stderr.write(`${color.red(`lastmeter: ${name} keeps failing at start-up:`)} ${reason}\n`);
        void shutdown(1);
      });
      supervisor.current.start();
      // A Kafka or Redis started here that dies (kill -9, OOM) comes back on its own.
      infra.keepStarted((name, reason) => {
        process.stderr.write(`${color.red(`lastmeter: ${name} keeps failing:`)} ${reason}\n`);
        void shutdown(1);
      });

      let seeded: Awaited<ReturnType<typeof seedDemo>> | undefined;
      try {
        await step(
          waitUntil(
            'apps',
            async () =>
              (await Promise.all(apps.map((app) => httpOk(`http://127.0.0.1:${app.port}/v1/health/ready`)))).every(
                Boolean,
              ),
            { timeoutMs: 180_000, intervalMs: 500 },
          ),
        );

        const state = infra.readState();
        const refusal = seedRefusal({
          nodeEnv: process.env.NODE_ENV,
          kafkaBrokers: process.env.KAFKA_BROKERS,
          redisUrl: process.env.REDIS_URL,
          local: {
            kafkaBrokers: state.kafka && isAlive(state.kafka.pid) ? `127.0.0.1:${state.kafka.port}` : undefined,
            redisUrl: state.redis && isAlive(state.redis.pid) ? `redis://127.0.0.1:${state.redis.port}` : undefined,
          },
        });
        if (refusal) {
          info(`demo seed skipped: ${refusal}`);
        } else if (await step(logIsEmpty(endpoints.kafkaBrokers, process.env.KAFKA_TOPIC_PREFIX))) {
          info('empty event log: seeding the demo (regions, stores, users, a terminal, communications)');
          const started = Date.now();
          const urls = {
            commandUrl: `http://127.0.0.1:${ports.command}`,
            gatewayUrl: `http://127.0.0.1:${ports.gateway}`,
          };
          const admin = { username: secrets.adminUser, password: secrets.adminPassword };
          const warn = (what: string) => (error: unknown) => {
            if (!shuttingDown)
              process.stderr.write(`${color.yellow(`lastmeter: ${what}:`)} ${(error as Error).message}\n`);
            return undefined;
          };
          seeded = await step(seedDemo(urls.commandUrl, admin).catch(warn('demo seed failed')));
          // Finished means visible: the console shows the demo from the first page load.
          if (seeded) await step(waitUntilSeedVisible(urls, admin, seeded).catch(warn('demo seed not visible yet')));
          if (seeded) info(`demo seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        }
        // The seed's last request lines are still on their way from the apps: let them
        // arrive, so the URLs are the last thing on the screen.
        await step(supervisor.current.quiet(300, 3_000));
      } catch (error) {
        process.stderr.write(`${color.red('lastmeter:')} ${(error as Error).message}\n`);
        return void shutdown(1);
      }

      const url = (port: number, path = '') => `http://127.0.0.1:${port}${path}`;
      // /metrics and /docs move to the internal listener when one is set.
      const internalHost = process.env.INTERNAL_HOST || '127.0.0.1';
      const ops = (name: keyof typeof ports, path: string) => {
        const internal = internalPorts[name];
        return internal ? `http://${internalHost}:${internal}${path}` : url(ports[name], path);
      };
      const lines = [
        '',
        color.bold(color.green('Last Meter is up')),
        `  head office console      ${url(ports.gateway, '/')}`,
        `  store tablet             ${url(ports.gateway, '/store/')}`,
        `  break-room screen        ${url(ports.gateway, '/store/screen/')}`,
        `  analyst                  ${url(ports.gateway, '/analyst/')}`,
        `  gateway (read API, UIs)  ${url(ports.gateway)}`,
        `  command API              ${url(ports.command, '/v1')}`,
        `  OpenAPI                  ${ops('command', '/docs')}   ${ops('gateway', '/docs')}`,
        `  health                   ${url(ports.gateway, '/v1/health/ready')}`,
        `  metrics                  ${ops('command', '/metrics')}   ${ops('projector', '/metrics')}   ${ops('gateway', '/metrics')}`,
        `  Kafka                    ${endpoints.kafkaBrokers}`,
        `  Redis                    ${endpoints.redisUrl}`,
        `  admin login              ${secrets.adminUser} / ${secrets.adminPassword}`,
        ...(seeded
          ? [
              `  demo logins              ${seeded.users.map((u) => `${u.username} / ${u.password}`).join('   ')}`,
              `  terminal enrollment      ${seeded.terminal.enrollmentCode} (${seeded.terminal.store}, valid 24 h)`,
              `  screen enrollment        ${seeded.screen.enrollmentCode} (${seeded.screen.store}, valid 24 h)`,
            ]
          : []),
        color.dim(`Ctrl-C stops everything started here; data stays in ${home.root}`),
        '',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
