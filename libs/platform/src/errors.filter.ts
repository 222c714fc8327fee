import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { isRedisUnavailable, REDIS_UNAVAILABLE_RETRY_AFTER_S } from '@lastmeter/redis';
import { KAFKA_UNAVAILABLE_RETRY_AFTER_S, KafkaUnavailable } from '@lastmeter/kafka';

/** The one error body of every Last Meter API (docs/design.md section 7). */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  fields?: Record<string, string[]>;
  [extra: string]: unknown;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The `error` of the error body for a status ('Payload Too Large', …). */
export function reasonOf(status: number): string {
  return REASONS[status] ?? 'Error';
}

/** Duck-typed domain errors (libs/domain) and body-parser errors carry their own status. */
interface StatusError {
  status?: number;
  statusCode?: number;
  error?: string;
  fields?: Record<string, string[]>;
  currentVersion?: number;
  type?: string;
  expose?: boolean;
  /** Bytes a body may have (body-parser's `entity.too.large`, and the import route's). */
  limit?: number;
}

/** 262144 → "256 KiB", 16777216 → "16 MiB". */
export function sizeOf(bytes: number): string {
  return bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0
    ? `${bytes / (1024 * 1024)} MiB`
    : `${Math.round(bytes / 1024)} KiB`;
}

/**
 * Maps everything thrown while serving a request to `{ statusCode, error, message,
 * fields? }`: Nest HttpExceptions, domain errors (status on the error), body-parser
 * refusals (413 too large, 400 malformed JSON), Redis being unavailable (503 with
 * Retry-After). Anything else is a logged 500 that reveals nothing.
 */
@Catch()
export class ErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const body = this.toBody(exception);
    // A 503 or 429 may say when to come back (`retryAfter`, seconds); a 503 otherwise says 5 s.
    const retryAfter = typeof body.retryAfter === 'number' ? body.retryAfter : body.statusCode === 503 ? 5 : undefined;
    if (retryAfter !== undefined) response.setHeader('Retry-After', String(retryAfter));
    response.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const raw = exception.getResponse();
      const base: ErrorBody = { statusCode: status, error: reasonOf(status), message: exception.message };
      if (typeof raw === 'string') return { ...base, message: raw };
      const fromObject = raw as Partial<ErrorBody> & { message?: string | string[] };
      return {
        ...base,
        ...fromObject,
        statusCode: status,
        message: Array.isArray(fromObject.message)
          ? fromObject.message.join('; ')
          : (fromObject.message ?? base.message),
      };
    }
    const error = exception as StatusError & Error;
    const status = error?.status ?? error?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message =
        error.type === 'entity.too.large'
          ? `request body exceeds the ${sizeOf(error.limit ?? 256 * 1024)} limit`
          : error.type === 'entity.parse.failed'
            ? 'request body is not valid JSON'
            : error.message;
      return {
        statusCode: status,
        error: error.error ?? reasonOf(status),
        message,
        ...(error.fields ? { fields: error.fields } : {}),
        ...(error.currentVersion !== undefined ? { currentVersion: error.currentVersion } : {}),
      };
    }
    // A dependency unavailable for a moment, not broken: Redis down or failing over, or
    // the log not answering in time (a broker starting, a leader moving).
    const unavailable = isRedisUnavailable(exception)
      ? {
          what: 'Redis',
          message: 'the read models are unavailable for a moment; retry shortly',
          retryAfter: REDIS_UNAVAILABLE_RETRY_AFTER_S,
        }
      : exception instanceof KafkaUnavailable
        ? {
            what: 'Kafka',
            message: 'the event log is unavailable for a moment; retry shortly',
            retryAfter: KAFKA_UNAVAILABLE_RETRY_AFTER_S,
          }
        : undefined;
    if (unavailable) {
      this.logger.warn(`${unavailable.what} unavailable: ${error.message}`);
      return {
        statusCode: 503,
        error: REASONS[503],
        message: unavailable.message,
        retryAfter: unavailable.retryAfter,
      };
    }
    this.logger.error(error?.stack ?? String(exception));
    return { statusCode: 500, error: REASONS[500], message: 'internal error' };
  }
}
