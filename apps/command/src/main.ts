import { main } from '@lastmeter/platform';
import { CommandModule } from './command.module';

main({
  name: 'command',
  title: 'command API',
  module: (config) => CommandModule.forRoot(config),
  port: (config) => config.COMMAND_PORT,
  // The web UIs are served by the gateway and call this API from the browser. Tokens are
  // bearer headers (never cookies), so allowing an origin grants nothing by itself.
  configure: (app, config) => {
    const origins = config.CORS_ORIGINS.split(',').map((origin) => origin.trim());
    app.enableCors({
      origin: origins.includes('*') ? true : origins,
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-match', 'x-request-id'],
      exposedHeaders: ['retry-after', 'x-request-id'],
      maxAge: 600,
    });
  },
});
