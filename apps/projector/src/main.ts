import { main } from '@lastmeter/platform';
import { ProjectorModule } from './projector.module';

main({
  name: 'projector',
  title: 'projector',
  module: (config) => ProjectorModule.forRoot(config),
  port: (config) => config.PROJECTOR_PORT,
});
