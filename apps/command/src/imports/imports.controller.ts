import {
  BadRequestException,
  Controller,
  HttpCode,
  HttpException,
  HttpStatus,
  Logger,
  PayloadTooLargeException,
  Post,
  Req,
  Res,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiResponse, ApiConsumes, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentActor, Roles } from '@lastmeter/auth';
import {
  ENROLLMENT_CODE_COLUMNS,
  enrollmentCodeRow,
  IMPORT_MAX_BYTES,
  IMPORT_MEDIA_TYPES,
  type Actor,
  type ImportFormat,
  type ImportStreamLine,
  type ImportSummary,
} from '@lastmeter/contracts';
import { safeCsvText } from '@lastmeter/history';
import { Refuses, sizeOf, type ErrorBody } from '@lastmeter/platform';
import { DirectoryImport } from './directory-import.service';
import { ImportFileError, parseImportFile, TooManyRows } from './import-file';

/** Request media types, by format (NDJSON under its usual names). */
const FORMATS: Record<string, ImportFormat> = {
  [IMPORT_MEDIA_TYPES.csv]: 'csv',
  [IMPORT_MEDIA_TYPES.ndjson]: 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
};
const ANSWERS = ['application/json', IMPORT_MEDIA_TYPES.ndjson, 'text/csv'] as const;

/** Seconds a client is told to wait when this instance is running another import. */
const RETRY_AFTER_S = 5;

/**
 * How much of an oversized body is read off and dropped before the 413 is sent. A
 * client that sends its whole body before it reads the answer (Node's http client,
 * supertest) gets the answer only if the body was taken: Node closes the connection
 * after an answer sent while the body is still arriving, and the rest of the upload
 * then fails with EPIPE instead of showing the 413. Beyond it the 413 goes at once.
 */
const DRAIN_MAX_BYTES = 16 * 1024 * 1024;

/** Reads off and drops what is left of the body, at most `budget` more bytes; resolves when done or past the budget. */
function drain(req: Request, budget: number): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded) return resolve();
    let left = budget;
    const done = () => {
      req.off('data', onData);
      req.off('end', done);
      req.off('error', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      left -= chunk.length;
      if (left < 0) done();
    };
    req.on('data', onData);
    req.on('end', done);
    req.on('error', done);
    req.resume();
  });
}

/**
 * The body, up to `limit` bytes, read only now: after the guards, so an unauthenticated or
 * forbidden request never makes the service hold 16 MiB. Over the limit: 413 once the
 * rest of the body (up to DRAIN_MAX_BYTES more) was read off and dropped, as body-parser
 * does, so the client gets the answer; nothing of it is kept.
 */
async function readBody(req: Request, limit: number): Promise<string> {
  const tooLarge = () => new PayloadTooLargeException(`request body exceeds the ${sizeOf(limit)} limit`);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    if (declared <= limit + DRAIN_MAX_BYTES) await drain(req, DRAIN_MAX_BYTES + limit);
    else req.resume();
    throw tooLarge();
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      stop();
      chunks.length = 0;
      void drain(req, DRAIN_MAX_BYTES).then(() => reject(tooLarge()));
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

@ApiTags('directory')
@ApiBearerAuth()
@Controller('imports')
export class ImportsController {
  private readonly logger = new Logger(ImportsController.name);

  constructor(private readonly imports: DirectoryImport) {}

  @Post()
  @HttpCode(200)
  @Roles('hq-admin')
  @ApiConsumes(IMPORT_MEDIA_TYPES.csv, IMPORT_MEDIA_TYPES.ndjson)
  @ApiProduces(...ANSWERS)
  @ApiOperation({
    summary: 'Import regions, stores and terminals from a CSV or NDJSON file',
    description:
      'Synchronous, up to 16 MiB and 100,000 rows. Each row is validated and imported on its own by natural key ' +
      '(region code, store code, store code + terminal name): created, updated (stores), unchanged or refused with ' +
      'its line and per-field reasons; a refused row writes nothing, and the same file again changes nothing. ' +
      'Accept: application/json (default) answers the summary with the enrollment codes of the new terminals; ' +
      'application/x-ndjson streams progress lines, then the summary; text/csv answers the enrollment codes as ' +
      'CSV, with the counts in X-Import-* headers. One import at a time per command instance (429).',
  })
  @ApiBody({
    description: 'The file: CSV with a header row, or NDJSON (one row object per line)',
    schema: { type: 'string' },
  })
  @ApiResponse({
    status: 200,
    description: 'Imported: the summary (JSON), progress then the summary (NDJSON), or the enrollment codes (CSV)',
    content: {
      'application/json': { schema: { $ref: '#/components/schemas/ImportSummary' } },
      [IMPORT_MEDIA_TYPES.ndjson]: { schema: { type: 'string', description: 'ImportStreamLine per line' } },
      'text/csv': { schema: { type: 'string' } },
    },
  })
  @Refuses(
    [400, 'The file cannot be parsed (its line and reason in `fields`); nothing was written'],
    [413, 'Over 16 MiB or 100,000 rows; nothing was written'],
    415,
    [429, 'This instance is running another import: wait Retry-After seconds'],
  )
  async import(@Req() req: Request, @Res() res: Response, @CurrentActor() actor: Actor): Promise<void> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const format = FORMATS[type];
    if (!format) {
      throw new UnsupportedMediaTypeException(
        `an import is ${IMPORT_MEDIA_TYPES.csv} or ${IMPORT_MEDIA_TYPES.ndjson}, not ${type || 'a body without Content-Type'}`,
      );
    }
    const slot = this.imports.acquire();
    if (!slot) {
      req.resume();
      res.setHeader('Retry-After', String(RETRY_AFTER_S));
      throw new HttpException(
        { message: 'this command instance is running another import; retry when it has finished' },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    try {
      const rows = await readBody(req, IMPORT_MAX_BYTES).then((text) => {
        try {
          return parseImportFile(text, format);
        } catch (error) {
          if (error instanceof ImportFileError) {
            throw new BadRequestException({ message: `invalid import file: ${error.message}`, fields: error.fields });
          }
          if (error instanceof TooManyRows) throw new PayloadTooLargeException(error.message);
          throw error;
        }
      });
      const answer = req.accepts([...ANSWERS]) || 'application/json';
      // The client going away stops the import between two batches (what was sent is decided).
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      res.setHeader('Cache-Control', 'no-store');

      if (answer === IMPORT_MEDIA_TYPES.ndjson) return await this.streamed(res, rows, actor, abort.signal);
      const summary = await this.imports.run(rows, actor, { signal: abort.signal });
      res.status(200);
      for (const [name, value] of Object.entries(headerCounts(summary))) res.setHeader(name, value);
      if (answer === 'text/csv') {
        res.type('text/csv').send(safeCsvText(ENROLLMENT_CODE_COLUMNS, summary.codes.map(enrollmentCodeRow)));
      } else {
        res.json(summary);
      }
    } finally {
      slot.release();
    }
  }

  /** NDJSON: the status and first line once something reached the log, progress as it goes, then the summary. */
  private async streamed(
    res: Response,
    rows: Awaited<ReturnType<typeof parseImportFile>>,
    actor: Actor,
    signal: AbortSignal,
  ): Promise<void> {
    const line = (value: ImportStreamLine) => `${JSON.stringify(value)}\n`;
    const start = () => {
      if (res.headersSent) return;
      res.status(200).type(IMPORT_MEDIA_TYPES.ndjson);
    };
    try {
      const summary = await this.imports.run(rows, actor, {
        signal,
        onProgress: (done, total) => {
          start();
          if (!signal.aborted) res.write(line({ type: 'progress', done, total }));
        },
      });
      start();
      res.end(line({ type: 'summary', summary }));
    } catch (error) {
      if (!res.headersSent) throw error;
      // The status is sent already: the last line says what went wrong.
      const body: ErrorBody =
        error instanceof HttpException
          ? { statusCode: error.getStatus(), error: 'Error', message: error.message }
          : { statusCode: 500, error: 'Internal Server Error', message: 'internal error' };
      res.end(line({ type: 'error', statusCode: body.statusCode, error: body.error, message: body.message }));
      if (!(error instanceof HttpException))
        this.logger.error(`import stopped: ${(error as Error).stack ?? String(error)}`);
    }
  }
}

/** The counts of an import as response headers (for the CSV answer, whose body holds only codes). */
function headerCounts(summary: ImportSummary): Record<string, string> {
  const total = (c: ImportSummary['created']) => String(c.regions + c.stores + c.terminals);
  return {
    'X-Import-Rows': String(summary.rows),
    'X-Import-Created': total(summary.created),
    'X-Import-Updated': total(summary.updated),
    'X-Import-Unchanged': total(summary.unchanged),
    'X-Import-Refused': String(summary.refused.length),
    'X-Import-Pending': String(summary.pending.length),
  };
}
