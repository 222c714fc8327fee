import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { lastmeterHome } from '@lastmeter/infra';
import { FsObjectStore, MediaLibrary, S3ObjectStore, type ObjectStore } from '@lastmeter/media';
import { MediaController } from './media.controller';
import { MediaLinks } from './media-links';
import { MediaUploadInterceptor } from './upload.interceptor';

/** The configured media store: files under MEDIA_DIR, or an S3 bucket (docs/media.md). */
export function mediaStore(config: AppConfig<'gateway'>): ObjectStore {
  if (config.MEDIA_DRIVER === 'fs') return new FsObjectStore(config.MEDIA_DIR || lastmeterHome().media);
  if (!config.MEDIA_S3_BUCKET) throw new Error('MEDIA_DRIVER=s3 needs MEDIA_S3_BUCKET');
  return new S3ObjectStore({
    bucket: config.MEDIA_S3_BUCKET,
    prefix: config.MEDIA_S3_PREFIX,
    region: config.MEDIA_S3_REGION,
    endpoint: config.MEDIA_S3_ENDPOINT,
    forcePathStyle: config.MEDIA_S3_FORCE_PATH_STYLE,
  });
}

/** `/v1/media`: the media store behind the gateway. */
@Module({
  controllers: [MediaController],
  providers: [
    MediaUploadInterceptor,
    {
      provide: MediaLibrary,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig<'gateway'>) => new MediaLibrary(mediaStore(config)),
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
  exports: [MediaLibrary],
})
export class MediaModule {}
