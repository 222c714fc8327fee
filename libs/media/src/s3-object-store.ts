import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { checkObjectKey, type ObjectStore } from './object-store';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Keys are written under it (one bucket shared by several deployments): '' or ends with '/'. */
  prefix?: string;
  region?: string;
  /** An S3-compatible server (MinIO, S3Mock, …); empty for AWS. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), as most S3-compatible servers want. */
  forcePathStyle?: boolean;
  /** Else AWS's default chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance roles. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Media objects in an S3 bucket (AWS, MinIO, any S3-compatible store), with `@aws-sdk/client-s3`. */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3';
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly options: S3ObjectStoreOptions;

  constructor(options: S3ObjectStoreOptions) {
    this.options = options;
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.client = new S3Client({
      region: options.region || 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
  }

  async put(key: string, bytes: Buffer, contentType?: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: bytes, ContentType: contentType }),
    );
  }

  async open(key: string): Promise<{ stream: Readable; size: number } | undefined> {
    const object = await this.get(key);
    return object && { stream: object.Body as Readable, size: object.ContentLength ?? 0 };
  }

  async read(key: string): Promise<Buffer | undefined> {
    const object = await this.get(key);
    return object && Buffer.from(await object.Body!.transformToByteArray());
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
  }

  async *list(prefix: string): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: this.prefix + prefix });
    for await (const page of pages) {
      for (const object of page.Contents ?? []) {
        yield {
          key: object.Key!.slice(this.prefix.length),
          size: object.Size ?? 0,
          modifiedAt: object.LastModified ?? new Date(0),
        };
      }
    }
  }

  /** The origin presigned URLs point at (the web UIs' CSP lets pictures load from it). */
  publicOrigin(): string {
    const { endpoint, forcePathStyle, region = 'us-east-1' } = this.options;
    if (endpoint) {
      const url = new URL(endpoint);
      return forcePathStyle ? url.origin : `${url.protocol}//${this.bucket}.${url.host}`;
    }
    return forcePathStyle ? `https://s3.${region}.amazonaws.com` : `https://${this.bucket}.s3.${region}.amazonaws.com`;
  }

  /**
   * A presigned GET of the object, valid `expiresInS` seconds, answering with the given
   * headers (S3's response overrides), for serving media from the bucket or a CDN in front.
   */
  presign(
    key: string,
    expiresInS: number,
    headers: { contentType?: string; contentDisposition?: string; cacheControl?: string } = {},
  ): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.key(key),
      ResponseContentType: headers.contentType,
      ResponseContentDisposition: headers.contentDisposition,
      ResponseCacheControl: headers.cacheControl,
    });
    return getSignedUrl(this.client, command, { expiresIn: expiresInS });
  }

  private async get(key: string) {
    try {
      return await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private key(key: string): string {
    return this.prefix + checkObjectKey(key);
  }
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404)
  );
}
