import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { lastmeterHome } from '@lastmeter/infra';
import { configuredMediaStore, MediaLibrary, S3ObjectStore } from '@lastmeter/media';
import { MediaLinks } from './media-links';
import { ResumableUploads } from './resumable-uploads';
import { MediaUploadSlots } from './upload-slots';

/**
 * The media store behind the gateway (MEDIA_DRIVER: files or S3) and its signed links;
 * `/v1/media` (MediaController) is registered by the gateway module, beside the read
 * models it checks store access against.
 */
@Module({
  providers: [
    MediaUploadSlots,
    ResumableUploads,
    {
      provide: MediaLibrary,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig<'gateway'>) =>
        new MediaLibrary(configuredMediaStore(config, lastmeterHome().media)),
    },
    {
      provide: MediaLinks,
      inject: [APP_CONFIG, MediaLibrary],
      useFactory: (config: AppConfig<'gateway'>, library: MediaLibrary) =>
        new MediaLinks(
          config.LASTMETER_JWT_SECRET,
          config.MEDIA_S3_DIRECT_LINKS && library.store instanceof S3ObjectStore ? library.store : undefined,
        ),
    },
  ],
  exports: [MediaLibrary, MediaLinks, MediaUploadSlots, ResumableUploads],
})
export class MediaModule {}
