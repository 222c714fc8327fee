import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { lastmeterHome } from '@lastmeter/infra';
import { FsObjectStore, MediaLibrary } from '@lastmeter/media';
import { MediaController } from './media.controller';
import { MediaLinks } from './media-links';
import { MediaUploadInterceptor } from './upload.interceptor';

/** `/v1/media`: the media store (MEDIA_DIR, default .lastmeter/media) behind the gateway. */
@Module({
  controllers: [MediaController],
  providers: [
    MediaUploadInterceptor,
    {
      provide: MediaLibrary,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig<'gateway'>) =>
        new MediaLibrary(new FsObjectStore(config.MEDIA_DIR || lastmeterHome().media)),
    },
    {
      provide: MediaLinks,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig<'gateway'>) => new MediaLinks(config.LASTMETER_JWT_SECRET),
    },
  ],
})
export class MediaModule {}
