import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { completeOpenApi } from './openapi';
import { startTracing, traceRequests } from './tracing';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { ConfigError, loadConfig, type AppConfig, type AppName } from '@lastmeter/config';
import { ErrorsFilter } from './errors.filter';
import { contentSecurityPolicy, internalRoutes } from './security-headers';
import { validationPipe } from './validation';

export const BODY_LIMIT = '256kb';

export interface AppDefinition<N extends AppName> {
  name: N;
  title: string;
  module: (config: AppConfig<N>) => DynamicModule;
  port: (config: AppConfig<N>) => number;
  /** Extra wiring after creation (socket adapters, static files). */
  configure?: (app: NestExpressApplication, config: AppConfig<N>) => void | Promise<void>;
}

/** `<APP>_INTERNAL_PORT` of an app's config: 0 = no internal listener. */
function internalPortOf(name: AppName, config: object): number {
  return Number((config as Record<string, unknown>)[`${name.toUpperCase()}_INTERNAL_PORT`] ?? 0);
}

/**
 * Starts one app: config first (a bad value is one line on stderr and exit code 1), then
 * Nest with pino logs, helmet, a Content-Security-Policy per route (security-headers.ts),
 * a 256 KiB body limit, `/v1` prefix, OpenAPI at /docs and graceful shutdown on
 * SIGTERM/SIGINT. With `<APP>_INTERNAL_PORT` set, a second listener on INTERNAL_HOST serves
 * /metrics and /docs, which the public port then answers with 404.
 */
export async function runApp<N extends AppName>(definition: AppDefinition<N>): Promise<INestApplication> {
  let config: AppConfig<N>;
  try {
    config = loadConfig(definition.name, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`lastmeter-${definition.name}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const port = definition.port(config);
  const internalPort = internalPortOf(definition.name, config);
  if (internalPort === port) {
    const variable = `${definition.name.toUpperCase()}_INTERNAL_PORT`;
    process.stderr.write(
      `lastmeter-${definition.name}: invalid configuration: ${variable}: ${port} is also the public port\n`,
    );
    process.exit(1);
  }

  if (startTracing(definition.name)) {
    process.stderr.write(
      `lastmeter-${definition.name}: tracing on (OTLP to ${config.OTEL_EXPORTER_OTLP_ENDPOINT || 'the default endpoint'})\n`,
    );
  }
  const app = await NestFactory.create<NestExpressApplication>(definition.module(config), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.useBodyParser('json', { limit: BODY_LIMIT });
  // Which hop's address is the client's (login rate limits key on it): TRUST_PROXY.
  app.set('trust proxy', trustProxy(config.TRUST_PROXY));
  // helmet for the other headers; the CSP is ours: strict for the API, Swagger UI's needs
  // under /docs, and the gateway replaces it on the web UI pages (apps/gateway web-ui.ts).
  // First: a span per request that everything it does runs in (a no-op while tracing is off).
  app.use(traceRequests());
  app.use(helmet({ contentSecurityPolicy: false }));
  app.use(contentSecurityPolicy());
  if (internalPort > 0) app.use(internalRoutes(internalPort));
  app.setGlobalPrefix('v1', { exclude: ['metrics'] });
  app.useGlobalFilters(new ErrorsFilter());
  app.useGlobalPipes(validationPipe());
  // A graceful stop on the signals that ask for one. Not SIGUSR2, which Nest's default
  // list includes: operators take heap snapshots with it (--heapsnapshot-signal=SIGUSR2,
  // docs/operations.md), and a snapshot must not stop the app.
  app.enableShutdownHooks(SHUTDOWN_SIGNALS);
  await definition.configure?.(app, config);

  const openapi = new DocumentBuilder()
    .setTitle(`Last Meter ${definition.title}`)
    .setVersion('1')
    .setOpenAPIVersion('3.1.0')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => completeOpenApi(SwaggerModule.createDocument(app, openapi)), {
    // No badge image from validator.swagger.io: the page loads nothing from elsewhere.
    swaggerOptions: { validatorUrl: null },
  });

  keepConnectionsAlive(app.getHttpServer() as Server);
  // Nest passes the arguments on to http.Server#listen(port, host, backlog); its typings
  // only know (port, host).
  const listen = app.listen.bind(app) as unknown as (port: number, host: string, backlog: number) => Promise<unknown>;
  await listen(port, config.HOST, LISTEN_BACKLOG);
  app.get(Logger).log(`${definition.name} listening on http://${config.HOST}:${port}`, 'Bootstrap');
  if (internalPort > 0) {
    // The same express app on a second socket; Socket.IO stays on the public server only.
    const internal: Server = createServer(app.getHttpAdapter().getInstance());
    keepConnectionsAlive(internal);
    await new Promise<void>((resolve, reject) => {
      internal.once('error', reject);
      internal.listen(internalPort, config.INTERNAL_HOST, () => resolve());
    });
    app.getHttpServer().once('close', () => internal.close());
    app
      .get(Logger)
      .log(
        `${definition.name} internal listener (metrics, docs) on http://${config.INTERNAL_HOST}:${internalPort}`,
        'Bootstrap',
      );
  }
  return app;
}

/** The signals that stop an app gracefully (Nest's default list minus SIGUSR2 and the fault signals). */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'];

/**
 * How long an idle keep-alive connection stays open: longer than clients and proxies
 * keep theirs (load balancers commonly 60 s), so that the client, not the server, closes
 * an idle connection. A server that closes first races a request the client has just
 * sent on that connection, and the client gets ECONNRESET with no answer: with Node's
 * 5 s default, its timers can fire before the pending reads of a busy event loop. Clients that honour
 * `Keep-Alive: timeout=` (undici, OkHttp, browsers) reuse a connection for less than this.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Connections the kernel may hold for accept() (Node's default is 511; the kernel caps it
 * at net.core.somaxconn). A busy event loop accepts late: thousands of tablets
 * reconnecting at once, or a burst of requests, overflowed 511, and the kernel dropped
 * SYNs (connect timeouts) or answered with failed SYN cookies (ECONNRESET), before the
 * app could answer, or shed, anything.
 */
export const LISTEN_BACKLOG = 4_096;

function keepConnectionsAlive(server: Server): void {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Must exceed keepAliveTimeout, or a request arriving late on an idle connection is cut.
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
}

/** Entry-point helper: any start-up failure other than config is logged once, exit 1. */
export function main<N extends AppName>(definition: AppDefinition<N>): void {
  runApp(definition).catch((error: unknown) => {
    process.stderr.write(`lastmeter-${definition.name}: failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}

/** Express's 'trust proxy' from TRUST_PROXY: false | true | a hop count | addresses/subnets. */
export function trustProxy(value: string): boolean | number | string {
  if (value === 'false' || value === '') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
