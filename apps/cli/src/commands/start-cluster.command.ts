import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadOrCreateDevSecrets } from '@lastmeter/auth';
import { APP_ENV_SPECS } from '@lastmeter/config';
import {
  ClusterInfra,
  freePort,
  isPortFree,
  lastmeterHome,
  requireHaproxy,
  spawnDaemon,
  stopProcess,
  waitUntil,
} from '@lastmeter/infra';
import { ensureTopicsFromEnv } from '@lastmeter/kafka';
import { color, info, UserFacingError } from '../output';
import { logIsEmpty, seedDemo } from '../seed';
import { Supervisor, type AppSpec } from '../supervisor';
import { appEnvironment, httpOk } from './start.command';

const INSTANCES = 2;
type AppName = 'command' | 'projector' | 'gateway';

/**
 * HAProxy in front of the gateways and the command services: round robin, each server
 * checked on `/v1/health/ready` every second (out after two failures, back after two
 * passes). A request whose instance dies before answering is sent to another one when
 * that is safe (a read, or a write with an Idempotency-Key); with no instance up HAProxy
 * answers 503 with Retry-After. WebSocket upgrades pass in HTTP mode; Socket.IO clients use the websocket
 * transport, so no sticky sessions are needed.
 */
export function haproxyConfig(frontends: Record<'gateway' | 'command', { port: number; servers: number[] }>): string {
  const lines = [
    '# Written by lastmeter (apps/cli/src/commands/start-cluster.command.ts) on every start.',
    // No maxconn: HAProxy derives it from the file-descriptor limit (`ulimit -n`), which
    // is what bounds the connected tablets per balancer; raise that limit for a real fleet.
    'global',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 5m',
    '  timeout server 5m',
    '  timeout tunnel 1h',
    '  option redispatch',
    '  retries 2',
    // An instance that dies before answering: the request goes to another one (L7 retry)...
    '  retry-on conn-failure empty-response response-timeout',
    // ...and with none left, a 503 that says when to come back, as the apps' own 503s do.
    `  http-error status 503 content-type application/json string '{"statusCode":503,"error":"Service Unavailable","message":"no instance is available; try again shortly"}' hdr Retry-After 2`,
  ];
  for (const [name, { port, servers }] of Object.entries(frontends)) {
    lines.push(
      `frontend ${name}`,
      `  bind 127.0.0.1:${port}`,
      `  default_backend ${name}s`,
      `backend ${name}s`,
      '  balance roundrobin',
      // Retried only where a second try cannot apply a write twice: safe methods, or a
      // write that carries an Idempotency-Key (the command service answers it once).
      '  acl retry_safe method GET HEAD OPTIONS',
      '  http-request disable-l7-retry unless retry_safe || { req.hdr(idempotency-key) -m found }',
      '  option httpchk GET /v1/health/ready',
      '  http-check expect status 200',
      '  default-server inter 1s fall 2 rise 2',
      ...servers.map((server, i) => `  server ${name}-${i + 1} 127.0.0.1:${server} check`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `lastmeter start-cluster` (`npm run start:cluster`): the cluster profile on this
 * machine. Three Kafka brokers and Redis with Sentinel (`infra up --profile cluster`),
 * two of every app, and HAProxy on GATEWAY_PORT and COMMAND_PORT. It seeds the demo into
 * an empty log and prints the URLs. Ctrl-C stops everything it started.
 */
export function startClusterCommand(): Command {
  return new Command('start-cluster')
    .description('the cluster profile: 3 Kafka brokers, Redis with Sentinel, two of every app behind HAProxy')
    .action(async () => {
      const haproxy = requireHaproxy();
      const home = lastmeterHome();
      const front = {
        gateway: Number(process.env.GATEWAY_PORT ?? APP_ENV_SPECS.gateway.GATEWAY_PORT.default),
        command: Number(process.env.COMMAND_PORT ?? APP_ENV_SPECS.command.COMMAND_PORT.default),
      };
      for (const [name, port] of Object.entries(front)) {
        if (!Number.isInteger(port) || !(await isPortFree(port)))
          throw new UserFacingError(
            `port ${port} for the ${name} balancer is not free; set ${name.toUpperCase()}_PORT`,
          );
      }
      const cluster = new ClusterInfra({ home, log: info });
      const endpoints = await cluster.up();
      process.env.KAFKA_REPLICATION_FACTOR ??= '3';
      await ensureTopicsFromEnv(endpoints.kafkaBrokers, info);

      const secrets = loadOrCreateDevSecrets(home.secrets);
      const base = appEnvironment(endpoints, secrets, front);
      const apps: AppSpec[] = [];
      const portsOf: Record<AppName, number[]> = { command: [], projector: [], gateway: [] };
      for (const app of ['command', 'projector', 'gateway'] as const) {
        for (let i = 1; i <= INSTANCES; i++) {
          const port = await freePort();
          portsOf[app].push(port);
          apps.push({ name: `${app}-${i}`, app, port, env: { ...base, [`${app.toUpperCase()}_PORT`]: String(port) } });
        }
      }
      const config = join(home.run, 'haproxy.cfg');
      mkdirSync(home.run, { recursive: true });
      mkdirSync(home.logs, { recursive: true });
      writeFileSync(
        config,
        haproxyConfig({
          gateway: { port: front.gateway, servers: portsOf.gateway },
          command: { port: front.command, servers: portsOf.command },
        }),
      );

      const balancer = spawnDaemon(haproxy, ['-f', config, '-db'], { logFile: join(home.logs, 'haproxy.log') });
      let stopping = false;
      const supervisor = new Supervisor(apps, (name, reason) => {
        process.stderr.write(`${color.red(`lastmeter: ${name} keeps failing at start-up:`)} ${reason}\n`);
        void shutdown(1);
      });
      const shutdown = async (code: number) => {
        if (stopping) return;
        stopping = true;
        info('stopping…');
        await supervisor.stop();
        await stopProcess(balancer.pid, 5_000);
        if (endpoints.started) await cluster.down();
        info(`stopped; data kept in ${home.root}`);
        process.exit(code);
      };
      process.on('SIGINT', () => void shutdown(0));
      process.on('SIGTERM', () => void shutdown(0));

      balancer.once('exit', (exitCode, signal) => {
        if (stopping) return;
        process.stderr.write(`${color.red('lastmeter: haproxy exited')} (${signal ?? exitCode}); see ${home.logs}\n`);
        void shutdown(1);
      });
      supervisor.start();
      // A broker or Redis server started here that dies comes back on its own.
      cluster.keepStarted((name, reason) => {
        process.stderr.write(`${color.red(`lastmeter: ${name} keeps failing:`)} ${reason}\n`);
        void shutdown(1);
      });
      const gatewayUrl = `http://127.0.0.1:${front.gateway}`;
      const commandUrl = `http://127.0.0.1:${front.command}`;
      try {
        await waitUntil(
          'apps',
          async () =>
            (await Promise.all(apps.map((app) => httpOk(`http://127.0.0.1:${app.port}/v1/health/ready`)))).every(
              Boolean,
            ) &&
            (await httpOk(`${gatewayUrl}/v1/health/ready`)) &&
            (await httpOk(`${commandUrl}/v1/health/ready`)),
          { timeoutMs: 240_000, intervalMs: 500 },
        );
        if (await logIsEmpty(endpoints.kafkaBrokers, process.env.KAFKA_TOPIC_PREFIX)) {
          info('empty event log: seeding the demo');
          await seedDemo(commandUrl, { username: secrets.adminUser, password: secrets.adminPassword });
        }
        await supervisor.quiet(300, 3_000);
      } catch (error) {
        if (stopping) return;
        process.stderr.write(`${color.red('lastmeter:')} ${(error as Error).message}\n`);
        return void shutdown(1);
      }
      const lines = [
        '',
        color.bold(color.green('Last Meter (cluster profile) is up')),
        `  head office console      ${gatewayUrl}/`,
        `  store tablet             ${gatewayUrl}/store/`,
        `  break-room screen        ${gatewayUrl}/store/screen/`,
        `  gateway (HAProxy)        ${gatewayUrl}   → ${portsOf.gateway.map((p) => `:${p}`).join(' ')}`,
        `  command API (HAProxy)    ${commandUrl}/v1   → ${portsOf.command.map((p) => `:${p}`).join(' ')}`,
        `  projectors               ${portsOf.projector.map((p) => `http://127.0.0.1:${p}/metrics`).join('   ')}`,
        `  Kafka (3 brokers)        ${endpoints.kafkaBrokers}`,
        `  Redis (Sentinel)         ${endpoints.redisUrl}`,
        `  admin login              ${secrets.adminUser} / ${secrets.adminPassword}`,
        color.dim(`Ctrl-C stops everything started here; data stays in ${home.root}`),
        '',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
