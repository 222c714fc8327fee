import { main } from '@lastmeter/platform';
import { CommandModule } from './command.module';

main({
  name: 'command',
  title: 'command API',
  module: (config) => CommandModule.forRoot(config),
  port: (config) => config.COMMAND_PORT,
  // The web UIs are served by the gateway and call this API from the browser: by default
  // only the gateway's own origin may (CORS_ORIGINS; `npm start` sets its gateway's, `*`
  // opens it to any origin). Tokens are bearer headers (never cookies), so an allowed
  // origin still needs a token; a refused one gets no Access-Control-Allow-Origin.
  configure: (app, config) => {
    const origins = config.CORS_ORIGINS.split(',')
      .map((origin) => origin.trim().replace(/\/+$/, ''))
      .filter(Boolean);
    app.enableCors({
      origin: origins.includes('*') ? true : origins,
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-match', 'x-request-id'],
      exposedHeaders: ['retry-after', 'x-request-id'],
      maxAge: 600,
    });
  },
});
