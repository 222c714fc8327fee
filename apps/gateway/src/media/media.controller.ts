import {
  All,
  BadRequestException,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { CurrentClaims, Public, Roles, type TokenClaims } from '@lastmeter/auth';
import {
  MEDIA_TYPES,
  type MediaLink,
  type MediaRecord,
  type MediaSweepReport,
  type MediaUploaded,
} from '@lastmeter/contracts';
import { Answer, RawAnswer, Refuses } from '@lastmeter/platform';
import { MediaLibrary, uploadedOf, type MediaVariant } from '@lastmeter/media';
import { communicationsUsing, factContexts, feedHead, getCommunication } from '@lastmeter/read-models';
import { ReadModels, ReadModelsBehind, RECHECK_WAITS_MS } from '../read/read-models.service';
import { UnprojectedFeeds } from '../realtime/unprojected-feeds';
import { HQ_READERS, isStoreScoped, mayShow, mediaOwnerOf, STORE_READERS } from '../read/scope';
import { MediaVariantQuery, SignedMediaQuery, SweepQuery } from './media.dto';
import { MediaSweeper } from './media-sweeper';
import { mediaFileName, MediaLinks } from './media-links';
import { ResumableUploads } from './resumable-uploads';
import { MediaUploadInterceptor } from './upload.interceptor';

const id = new ParseUUIDPipe();
/** Head office composes with media; stores upload evidence and report photos. Analysts only read. */
const UPLOADERS = ['hq-admin', 'hq-editor', 'agency', ...STORE_READERS] as const;
const READERS = [...HQ_READERS, 'agency', ...STORE_READERS] as const;

const BEHIND = [
  503,
  "A store's token, for a communication its feed was handed on commit that the read models have not caught up with yet: retry after Retry-After seconds",
] as [number, string];

/**
 * Media (docs/media.md): uploads checked and stored by `libs/media`, served only to readers
 * allowed to see them, with a bearer token or a short-lived signed link.
 */
@ApiTags('media')
@ApiBearerAuth()
@Controller('media')
export class MediaController {
  constructor(
    private readonly library: MediaLibrary,
    private readonly links: MediaLinks,
    private readonly models: ReadModels,
    private readonly uploads: ResumableUploads,
    private readonly sweeper: MediaSweeper,
    private readonly unprojected: UnprojectedFeeds,
  ) {}

  @All(['uploads', 'uploads/*id'])
  @Roles(...UPLOADERS)
  @ApiExcludeEndpoint()
  async resumable(@Req() request: Request, @Res() response: Response): Promise<void> {
    await this.uploads.server.handle(request, response);
  }

  @Post('sweep')
  @HttpCode(200)
  @Roles('hq-admin')
  @ApiOperation({
    summary: 'Run the media sweep now (or count what it would delete, with dryRun=true)',
    description:
      'Deletes media nothing uses (after MEDIA_UNREFERENCED_GRACE_S) and media of communications retracted or ' +
      'expired more than MEDIA_RETENTION_DAYS ago; photos of field reports stay. Gateways also run it every ' +
      'MEDIA_SWEEP_EVERY_S.',
  })
  @Answer('MediaSweepReport')
  sweep(@Query() query: SweepQuery): Promise<MediaSweepReport> {
    return this.sweeper.sweep(query.dryRun === 'true');
  }

  @Post()
  @HttpCode(201)
  @Roles(...UPLOADERS)
  @UseInterceptors(MediaUploadInterceptor)
  @ApiConsumes('multipart/form-data')
  @ApiOperation({
    summary: 'Upload a photo or a document',
    description:
      'multipart/form-data with the file in field `file` and nothing else. JPEG, PNG and WebP images up to 15 MB, ' +
      'PDFs up to 25 MB, the type sniffed from the bytes (415 otherwise; 413 too large; 422 truncated or corrupt). ' +
      'Images are re-encoded upright without EXIF (GPS included) and get a thumbnail. A store-manager or terminal ' +
      'uploads for its own store; head office for communications.',
  })
  @Answer('MediaUploaded', { status: 201, description: 'Stored (images re-encoded, without metadata)' })
  @Refuses(
    400,
    [413, 'Over 15 MB (images), 25 MB (PDFs) or 64 megapixels; nothing was stored'],
    415,
    [422, 'The image or PDF is truncated or corrupt; nothing was stored'],
    [
      503,
      'Too many uploads are being received (MEDIA_UPLOADS_MAX, MEDIA_UPLOADS_QUEUE): retry after Retry-After seconds',
    ],
  )
  async upload(@Req() request: Request, @CurrentClaims() claims: TokenClaims): Promise<MediaUploaded> {
    const file = request.file;
    if (!file) {
      throw new BadRequestException({
        message: 'invalid upload: file',
        fields: { file: ['required: the file goes in field "file"'] },
      });
    }
    const owner = mediaOwnerOf(claims);
    return uploadedOf(
      await this.library.upload(file.buffer, { name: file.originalname, owner, uploadedBy: claims.sub }),
    );
  }

  @Get(':id')
  @Roles(...READERS)
  @ApiOperation({ summary: 'The bytes of a medium (or its thumbnail), for readers allowed to see it' })
  @Refuses(BEHIND)
  @RawAnswer(MEDIA_TYPES, 'The bytes (`Content-Disposition` names the file; thumbnails are JPEG)')
  async content(
    @Param('id', id) mediaId: string,
    @Query() query: MediaVariantQuery,
    @CurrentClaims() claims: TokenClaims,
    @Res() response: Response,
  ): Promise<void> {
    const record = await this.readable(mediaId, claims);
    await this.send(response, record, query.variant ?? 'original', 'private, max-age=31536000, immutable');
  }

  @Get(':id/info')
  @Roles(...READERS)
  @ApiOperation({ summary: 'The record of a medium: type, size, dimensions, owner, thumbnail' })
  @Refuses(BEHIND)
  @Answer('MediaRecord')
  async info(@Param('id', id) mediaId: string, @CurrentClaims() claims: TokenClaims): Promise<MediaRecord> {
    return this.readable(mediaId, claims);
  }

  @Get(':id/link')
  @Roles(...READERS)
  @ApiOperation({
    summary: 'A signed link to a medium, valid 5 minutes, for `<img src>` and viewers that cannot send a token',
    description:
      'A gateway path (`/v1/media/:id/content?…`, relative), or with MEDIA_S3_DIRECT_LINKS a presigned URL of the bucket.',
  })
  @Refuses(BEHIND)
  @Answer('MediaLink')
  async link(
    @Param('id', id) mediaId: string,
    @Query() query: MediaVariantQuery,
    @CurrentClaims() claims: TokenClaims,
  ): Promise<MediaLink> {
    const record = await this.readable(mediaId, claims);
    const variant = query.variant ?? 'original';
    if (variant === 'thumbnail' && !record.thumbnail) throw new NotFoundException('this medium has no thumbnail');
    return this.links.linkTo(record, variant);
  }

  @Get(':id/content')
  @Public()
  @ApiOperation({ summary: 'The bytes of a medium through a signed link (no bearer token)' })
  @RawAnswer(MEDIA_TYPES, 'The bytes (`Content-Disposition` names the file; thumbnails are JPEG)')
  @Refuses([403, 'The link is expired, or its signature does not match'], 503)
  async signed(
    @Param('id', id) mediaId: string,
    @Query() query: SignedMediaQuery,
    @Res() response: Response,
  ): Promise<void> {
    const left = this.links.check(mediaId, query.variant, query.expires, query.signature);
    if (left === undefined) throw new ForbiddenException('the link is expired or not valid');
    const record = await this.library.record(mediaId);
    if (!record) throw new NotFoundException('no such media');
    await this.send(response, record, query.variant, `private, max-age=${left}`);
  }

  /** The record, when the token may read it; 404 alike for missing and not yours (no probing). */
  private async readable(mediaId: string, claims: TokenClaims): Promise<MediaRecord> {
    const record = await this.library.record(mediaId);
    if (!record || !(await this.mayRead(claims, record))) throw new NotFoundException('no such media');
    return record;
  }

  /**
   * Head office, agency and analysts read every medium. A store-manager or terminal reads
   * its own store's media, and head office media attached to (or the cover of) a
   * communication its store's feed carried, unless the communication is restricted to
   * store roles the token does not serve.
   */
  private async mayRead(claims: TokenClaims, record: MediaRecord): Promise<boolean> {
    if (!isStoreScoped(claims)) return true;
    if (record.owner.kind === 'store') return record.owner.storeId === claims.storeId;
    return this.attachedForStore(claims, record);
  }

  /**
   * Whether the head office medium belongs to a communication the store's feed carried.
   * Terminals get a new item the moment its transaction commits, before a projector has
   * written the store's targeting to Redis: while the store's feed there ends below what
   * was announced on commit (UnprojectedFeeds), a "no" is checked again for about 1.9 s,
   * then answered 503 with Retry-After (ReadModelsBehind) rather than 404. A store with
   * nothing outstanding gets its answer at once.
   */
  private async attachedForStore(claims: TokenClaims, record: MediaRecord): Promise<boolean> {
    const storeId = claims.storeId!;
    for (let attempt = 0; ; attempt++) {
      if (await this.attached(claims, record)) return true;
      const committed = this.unprojected.head(storeId);
      if (committed === undefined) return false;
      const projected = await feedHead(this.models.redis, await this.models.keys(), storeId);
      if (projected >= committed) {
        // Redis holds all that was announced: its answer now is the answer.
        this.unprojected.projected(storeId, projected);
        return this.attached(claims, record);
      }
      if (attempt === RECHECK_WAITS_MS.length) throw new ReadModelsBehind();
      await new Promise((resolve) => setTimeout(resolve, RECHECK_WAITS_MS[attempt]));
    }
  }

  private async attached(claims: TokenClaims, record: MediaRecord): Promise<boolean> {
    const { redis } = this.models;
    const keys = await this.models.keys();
    const communications = await communicationsUsing(redis, keys, record.mediaId);
    const contexts = await factContexts(redis, keys, communications, claims.storeId!);
    for (const [i, id] of communications.entries()) {
      if (!contexts[i].targeted) continue;
      const communication = await getCommunication(redis, keys, id);
      if (communication && mayShow(claims, communication.audience.roles)) return true;
    }
    return false;
  }

  private async send(response: Response, record: MediaRecord, variant: MediaVariant, cache: string): Promise<void> {
    const object = await this.library.open(record, variant);
    if (!object)
      throw new NotFoundException(variant === 'thumbnail' ? 'this medium has no thumbnail' : 'no such media');
    response.status(200);
    response.setHeader('content-type', object.contentType);
    response.setHeader('content-length', String(object.size));
    response.setHeader('etag', `"${object.sha256}"`);
    response.setHeader('cache-control', cache);
    response.setHeader('x-content-type-options', 'nosniff');
    response.setHeader('content-disposition', `inline; filename="${mediaFileName(record, variant)}"`);
    // A reader that goes away mid-file: pipeline has closed both ends, nothing left to answer.
    await pipeline(object.stream, response).catch(() => undefined);
  }
}
