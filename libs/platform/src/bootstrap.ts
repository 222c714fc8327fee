import 'reflect-metadata';
import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { ConfigError, loadConfig, type AppConfig, type AppName } from '@lastmeter/config';
import { ErrorsFilter } from './errors.filter';
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

/**
 * Starts one app: config first (a bad value is one line on stderr and exit code 1), then
 * Nest with pino logs, helmet, a 256 KiB body limit, `/v1` prefix, OpenAPI at /docs and
 * graceful shutdown on SIGTERM/SIGINT.
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

  const app = await NestFactory.create<NestExpressApplication>(definition.module(config), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.use(helmet({ contentSecurityPolicy: false }));
  app.setGlobalPrefix('v1', { exclude: ['metrics'] });
  app.useGlobalFilters(new ErrorsFilter());
  app.useGlobalPipes(validationPipe());
  app.enableShutdownHooks();
  await definition.configure?.(app, config);

  const openapi = new DocumentBuilder()
    .setTitle(`Last Meter ${definition.title}`)
    .setVersion('1')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, openapi));

  const port = definition.port(config);
  await app.listen(port, config.HOST);
  app.get(Logger).log(`${definition.name} listening on http://${config.HOST}:${port}`, 'Bootstrap');
  return app;
}

/** Entry-point helper: any start-up failure other than config is logged once, exit 1. */
export function main<N extends AppName>(definition: AppDefinition<N>): void {
  runApp(definition).catch((error: unknown) => {
    process.stderr.write(`lastmeter-${definition.name}: failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
