import { main } from '@lastmeter/platform';
import { GatewayModule } from './gateway.module';

main({
  name: 'gateway',
  title: 'gateway (read API, realtime)',
  module: (config) => GatewayModule.forRoot(config),
  port: (config) => config.GATEWAY_PORT,
});
