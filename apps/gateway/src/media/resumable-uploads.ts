import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { FileStore } from '@tus/file-store';
import { S3Store } from '@tus/s3-store';
import { Server, type DataStore, type Upload } from '@tus/server';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { AuthenticatedRequest, TokenClaims } from '@lastmeter/auth';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { MEDIA_MAX_BYTES, type MediaOwner } from '@lastmeter/contracts';
import { lastmeterHome } from '@lastmeter/infra';
import { MediaLibrary, MediaRefused, uploadedOf } from '@lastmeter/media';
import { reasonOf } from '@lastmeter/platform';
import { mediaOwnerOf } from '../read/scope';

/** Where tus routes live (docs/media.md). */
export const RESUMABLE_PATH = '/v1/media/uploads';
const ID = /^[0-9a-f]{32}$/;

/** Both stores read a finished upload back (not part of tus's DataStore interface). */
type Readable = DataStore & { read(id: string): NodeJS.ReadableStream | Promise<NodeJS.ReadableStream> };

/** The request as tus hands it to its hooks, with the Node request under it. */
interface TusRequest {
  runtime?: { node?: { req: IncomingMessage } };
}

/**
 * Resumable uploads with the tus protocol (`@tus/server`; clients: `tus-js-client`, and
 * TUSKit / tus-android-client on native tablets), for photos over store Wi-Fi. The
 * partial upload lives in the media store's area (files under MEDIA_DIR/uploads, or the
 * bucket with MEDIA_DRIVER=s3), so any gateway can continue it. When the last byte is in,
 * the upload goes through exactly the checks of `POST /v1/media` (sniffed type, limits,
 * EXIF removed, thumbnail), the partial upload is deleted, and the final PATCH answers
 * 200 with the medium (`MediaUploaded`, as `POST /v1/media` answers 201) or the 4xx of
 * the refusal. Only the token that created an upload may continue, inspect or delete it;
 * to anyone else it does not exist. An upload left unfinished expires after
 * MEDIA_UPLOAD_EXPIRY_S and is swept.
 */
@Injectable()
export class ResumableUploads implements OnModuleDestroy {
  readonly server: Server;
  private readonly datastore: Readable;
  private readonly logger = new Logger(ResumableUploads.name);
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig<'gateway'>,
    private readonly library: MediaLibrary,
  ) {
    const expiry = config.MEDIA_UPLOAD_EXPIRY_S * 1000;
    const s3 = config.MEDIA_DRIVER === 's3';
    // In a bucket, partial uploads go under the media prefix; the URL keeps the bare id.
    const keyPrefix = s3 ? `${config.MEDIA_S3_PREFIX}uploads-` : '';
    const datastore: Readable = s3
      ? new S3Store({
          partSize: 8 * 1024 * 1024,
          expirationPeriodInMilliseconds: expiry,
          s3ClientConfig: {
            bucket: config.MEDIA_S3_BUCKET,
            region: config.MEDIA_S3_REGION,
            ...(config.MEDIA_S3_ENDPOINT ? { endpoint: config.MEDIA_S3_ENDPOINT } : {}),
            forcePathStyle: config.MEDIA_S3_FORCE_PATH_STYLE,
          },
        })
      : new FileStore({
          directory: join(config.MEDIA_DIR || lastmeterHome().media, 'uploads'),
          expirationPeriodInMilliseconds: expiry,
        });
    this.datastore = datastore;
    this.server = new Server({
      path: RESUMABLE_PATH,
      datastore,
      maxSize: MEDIA_MAX_BYTES.pdf,
      relativeLocation: true,
      namingFunction: () => `${keyPrefix}${randomBytes(16).toString('hex')}`,
      generateUrl: (_req, { path, id }) => `${path}/${id.slice(keyPrefix.length)}`,
      getFileIdFromRequest: (_req, lastPath) => (lastPath && ID.test(lastPath) ? `${keyPrefix}${lastPath}` : undefined),
      // The uploader is the token's subject, written by the server over whatever the client sent.
      onUploadCreate: async (req, upload) => {
        const claims = claimsOf(req);
        return {
          metadata: { ...upload.metadata, lmUploader: claims.sub, lmOwner: JSON.stringify(mediaOwnerOf(claims)) },
        };
      },
      onIncomingRequest: async (req, uploadId) => {
        const upload = await this.server.datastore.getUpload(uploadId).catch(() => undefined);
        if (upload && upload.metadata?.lmUploader !== claimsOf(req).sub)
          throw { status_code: 404, body: 'no such upload\n' };
      },
      onUploadFinish: async (_req, upload) => this.finish(upload),
    });
    // Unfinished uploads past their expiry: the store forgets them (FileStore and S3Store both can).
    this.sweeper = setInterval(
      () =>
        void this.server.cleanUpExpiredUploads().then(
          (count) => count > 0 && this.logger.log(`deleted ${count} expired unfinished uploads`),
          (error: Error) => this.logger.warn(`expired uploads not swept: ${error.message}`),
        ),
      Math.min(expiry, 10 * 60_000),
    ).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /** The complete upload through the checks of POST /v1/media; the partial upload goes either way. */
  private async finish(
    upload: Upload,
  ): Promise<{ status_code: number; headers: Record<string, string>; body: string }> {
    const json = { 'content-type': 'application/json' };
    try {
      const bytes = await streamToBuffer(await this.datastore.read(upload.id));
      const record = await this.library.upload(bytes, {
        name: upload.metadata?.filename ?? undefined,
        owner: JSON.parse(upload.metadata!.lmOwner!) as MediaOwner,
        uploadedBy: upload.metadata!.lmUploader!,
      });
      return { status_code: 200, headers: json, body: JSON.stringify(uploadedOf(record)) };
    } catch (error) {
      if (!(error instanceof MediaRefused)) throw error;
      const body = {
        statusCode: error.status,
        error: reasonOf(error.status),
        message: error.message,
        fields: error.fields,
      };
      throw { status_code: error.status, body: JSON.stringify(body) };
    } finally {
      await this.server.datastore.remove(upload.id).catch(() => undefined);
    }
  }
}

function claimsOf(req: unknown): TokenClaims {
  const claims = ((req as TusRequest).runtime?.node?.req as AuthenticatedRequest | undefined)?.claims;
  // The controller's guard ran first: a request without claims never reaches tus.
  if (!claims) throw { status_code: 401, body: 'missing bearer token\n' };
  return claims;
}

async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}
