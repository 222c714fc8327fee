import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request } from 'express';

/** Counts login attempts per client address and username, not per address alone. */
@Injectable()
export class LoginThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const request = req as unknown as Request;
    const username = typeof request.body?.username === 'string' ? request.body.username.toLowerCase() : '';
    return `${request.ip}:${username}`;
  }
}
