import type { ObjectStore } from './object-store';
import { FsObjectStore } from './object-store';
import { S3ObjectStore } from './s3-object-store';

/** The media store settings every app that touches media reads (libs/config `mediaStoreEnv`). */
export interface MediaStoreConfig {
  MEDIA_DRIVER: string;
  MEDIA_DIR: string;
  MEDIA_S3_BUCKET: string;
  MEDIA_S3_PREFIX: string;
  MEDIA_S3_REGION: string;
  MEDIA_S3_ENDPOINT: string;
  MEDIA_S3_FORCE_PATH_STYLE: boolean;
}

/** The configured media store: files under MEDIA_DIR (else `defaultDir`), or an S3 bucket (docs/media.md). */
export function configuredMediaStore(config: MediaStoreConfig, defaultDir: string): ObjectStore {
  if (config.MEDIA_DRIVER === 'fs') return new FsObjectStore(config.MEDIA_DIR || defaultDir);
  if (!config.MEDIA_S3_BUCKET) throw new Error('MEDIA_DRIVER=s3 needs MEDIA_S3_BUCKET');
  return new S3ObjectStore({
    bucket: config.MEDIA_S3_BUCKET,
    prefix: config.MEDIA_S3_PREFIX,
    region: config.MEDIA_S3_REGION,
    endpoint: config.MEDIA_S3_ENDPOINT,
    forcePathStyle: config.MEDIA_S3_FORCE_PATH_STYLE,
  });
}
