import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  HttpException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import multer, { MulterError } from 'multer';
import { finalize, type Observable } from 'rxjs';
import { MEDIA_MAX_BYTES } from '@lastmeter/contracts';
import { MediaUploadSlots } from './upload-slots';

/**
 * Receives the multipart body of `POST /v1/media` (one part, the file, in field `file`)
 * into memory, for at most MEDIA_UPLOADS_MAX uploads at once per gateway, so memory stays
 * bounded at MEDIA_UPLOADS_MAX × 25 MB. The next MEDIA_UPLOADS_QUEUE wait their turn
 * (bodies unread, up to 30 s); beyond them, 503 with Retry-After. Refusals carry
 * per-field errors like every other 4xx.
 */
@Injectable()
export class MediaUploadInterceptor implements NestInterceptor {
  private readonly receive = multer({
    storage: multer.memoryStorage(),
    // A few small text fields are read only to name them in the 400 (the body holds the file alone).
    limits: { fileSize: MEDIA_MAX_BYTES.pdf, files: 1, fields: 5, fieldSize: 1024, parts: 6, headerPairs: 20 },
  }).single('file');

  constructor(private readonly slots: MediaUploadSlots) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    if (!request.is('multipart/form-data')) {
      throw refusal(415, 'file', 'send a multipart/form-data body with the file in field "file"');
    }
    // A client that goes away while waiting gives up its place.
    const gone = new AbortController();
    const onClose = () => gone.abort();
    request.once('close', onClose);
    const admitted = await this.slots.acquire(gone.signal);
    request.off('close', onClose);
    if (!admitted) {
      throw new HttpException(
        { message: 'this gateway is receiving as many uploads as it may; retry shortly', retryAfter: 2 },
        503,
      );
    }
    try {
      await new Promise<void>((resolve, reject) =>
        this.receive(request, http.getResponse<Response>(), (error: unknown) =>
          error ? reject(asHttpError(error)) : resolve(),
        ),
      );
      const extra = Object.keys((request.body ?? {}) as object);
      if (extra.length > 0) {
        throw new HttpException(
          {
            message: `invalid upload: unknown field ${extra.join(', ')}`,
            fields: Object.fromEntries(
              extra.map((name) => [name, ['unknown field: the body holds the file in field "file" and nothing else']]),
            ),
          },
          400,
        );
      }
    } catch (error) {
      this.slots.release();
      throw error;
    }
    return next.handle().pipe(finalize(() => this.slots.release()));
  }
}

function refusal(status: number, field: string, message: string): HttpException {
  return new HttpException({ message: `invalid upload: ${message}`, fields: { [field]: [message] } }, status);
}

function asHttpError(error: unknown): HttpException {
  if (!(error instanceof MulterError)) {
    // busboy: a malformed body ("Unexpected end of form", no boundary, …).
    return refusal(400, 'file', `malformed multipart body (${(error as Error).message})`);
  }
  const field = error.field ?? 'file';
  switch (error.code) {
    case 'LIMIT_FILE_SIZE':
      return refusal(
        413,
        'file',
        `at most ${MEDIA_MAX_BYTES.pdf / 1024 / 1024} MB (images: ${MEDIA_MAX_BYTES.image / 1024 / 1024} MB)`,
      );
    case 'LIMIT_UNEXPECTED_FILE':
      return refusal(400, field, field === 'file' ? 'one file only' : 'unknown field: the file goes in field "file"');
    case 'LIMIT_FIELD_COUNT':
    case 'LIMIT_PART_COUNT':
    case 'LIMIT_FILE_COUNT':
      return refusal(400, field, 'unknown field: the body holds the file in field "file" and nothing else');
    default:
      return refusal(400, field, error.message);
  }
}
