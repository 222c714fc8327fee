import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@lastmeter/config';
import { PlatformModule } from '@lastmeter/platform';
import { PersonKeyFollower } from './person-key-follower';
import { ProjectorService } from './projector.service';

@Module({})
export class ProjectorModule {
  static forRoot(config: AppConfig<'projector'>): DynamicModule {
    return {
      module: ProjectorModule,
      imports: [PlatformModule.forRoot('projector', config)],
      providers: [ProjectorService, PersonKeyFollower],
    };
  }
}
