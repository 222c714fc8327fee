import { main } from '@lastmeter/platform';
import { GatewayModule } from './gateway.module';
import { serveWebUi } from './web/web-ui';

main({
  name: 'gateway',
  title: 'gateway (read API, realtime, web UIs)',
  module: (config) => GatewayModule.forRoot(config),
  port: (config) => config.GATEWAY_PORT,
  configure: (app) => serveWebUi(app),
});
