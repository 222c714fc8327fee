import { main } from '@lastmeter/platform';
import { GatewayModule } from './gateway.module';
import { LeanIoAdapter } from './realtime/lean-io-adapter';
import { serveWebUi } from './web/web-ui';

main({
  name: 'gateway',
  title: 'gateway (read API, realtime, web UIs)',
  module: (config) => GatewayModule.forRoot(config),
  port: (config) => config.GATEWAY_PORT,
  configure: (app) => {
    app.useWebSocketAdapter(new LeanIoAdapter(app));
    serveWebUi(app);
  },
});
