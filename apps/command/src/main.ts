import { main } from '@lastmeter/platform';
import { CommandModule } from './command.module';

main({
  name: 'command',
  title: 'command API',
  module: (config) => CommandModule.forRoot(config),
  port: (config) => config.COMMAND_PORT,
});
