import { createHash } from 'node:crypto';
import { HttpException, HttpStatus, Injectable, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { Request, Response } from 'express';

/** Named throttlers of POST /v1/auth/login (limits from config, counters in Redis). */
export const LOGIN_THROTTLERS = { perIp: 'login-ip', perUsername: 'login-user', enrollPerIp: 'enroll-ip' } as const;

/**
 * Whose password is being tried: the username of a login (normalised as login compares
 * it), or the caller of a password change (a stolen token may not guess without limit).
 */
export function loginUsername(request: Request): string {
  const body = request.body as { username?: unknown } | undefined;
  if (typeof body?.username === 'string') return body.username.trim().toLowerCase();
  const claims = (request as Request & { claims?: { sub?: string } }).claims;
  return claims?.sub ? `sub:${claims.sub}` : '';
}

/**
 * Login attempts are counted twice, in Redis so that every command instance shares the
 * counts: per client address (one address guessing many usernames) and per username (many
 * addresses guessing one password). The client address is Express's `req.ip`, which
 * honours TRUST_PROXY. Over either limit: 429 with Retry-After, before any password work.
 */
@Injectable()
export class LoginThrottlerGuard extends ThrottlerGuard {
  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    // Hashed: the key names neither the address nor the username.
    return `throttle:${name}:${createHash('sha256').update(tracker).digest('base64url')}`;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const response = context.switchToHttp().getResponse<Response>();
    response.setHeader('Retry-After', String(Math.max(1, detail.timeToBlockExpire)));
    throw new HttpException(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        error: 'Too Many Requests',
        message: detail.key.includes(`:${LOGIN_THROTTLERS.enrollPerIp}:`)
          ? 'too many enrollment attempts from this address; wait and try again'
          : 'too many login attempts; wait and try again',
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
