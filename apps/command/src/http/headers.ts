import { BadRequestException, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

function header(context: ExecutionContext, name: string): string | undefined {
  const value = context.switchToHttp().getRequest<Request>().headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `If-Match: 3` (or `"3"`, `W/"3"`): the aggregate version the client saw. */
export const IfMatch = createParamDecorator((_data: unknown, context: ExecutionContext): number | undefined => {
  const raw = header(context, 'if-match');
  if (raw === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(raw.trim());
  if (!match || Number(match[1]) < 1) {
    throw new BadRequestException({
      statusCode: 400,
      error: 'Bad Request',
      message: 'If-Match must be a version number',
      fields: { 'If-Match': ['must be a positive integer version, e.g. If-Match: 3'] },
    });
  }
  return Number(match[1]);
});

/** `Idempotency-Key`: 1–200 visible ASCII characters. */
export const IdempotencyKey = createParamDecorator((_data: unknown, context: ExecutionContext): string | undefined => {
  const raw = header(context, 'idempotency-key');
  if (raw === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,200}$/.test(raw)) {
    throw new BadRequestException({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Idempotency-Key must be 1-200 visible ASCII characters',
      fields: { 'Idempotency-Key': ['must be 1-200 visible ASCII characters'] },
    });
  }
  return raw;
});
