import {
  applyDecorators,
  createParamDecorator,
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  type OnModuleInit,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { ApiExtension } from '@nestjs/swagger';
import { JwtService } from '@nestjs/jwt';
import type { Request } from 'express';
import type { Actor, ActorRole } from '@lastmeter/contracts';
import { SESSION_CHECK, TokenRefused, verifyToken, type SessionCheck, type TokenClaims } from './tokens';

const ROLES = 'lastmeter:roles';
const PUBLIC = 'lastmeter:public';

/** The roles allowed on a route (checked after a valid token). */
export const Roles = (...roles: ActorRole[]) => SetMetadata(ROLES, roles);
/**
 * The OpenAPI extension that marks a public route: the documents drop the bearer
 * requirement its controller declares (libs/platform completeOpenApi).
 */
export const PUBLIC_EXTENSION = 'x-lastmeter-public';

/** A route anyone may call (login, enroll, health). */
export const Public = () => applyDecorators(SetMetadata(PUBLIC, true), ApiExtension(PUBLIC_EXTENSION, true));

export interface AuthenticatedRequest extends Request {
  claims?: TokenClaims;
}

/** The caller as the domain sees it. */
export const CurrentActor = createParamDecorator((_data: unknown, context: ExecutionContext): Actor => {
  const claims = context.switchToHttp().getRequest<AuthenticatedRequest>().claims;
  if (!claims) throw new UnauthorizedException('missing bearer token');
  return { id: claims.sub, role: claims.role, ...(claims.storeId ? { storeId: claims.storeId } : {}) };
});

/** The verified token's claims (store roles of a terminal, username, ...). */
export const CurrentClaims = createParamDecorator((_data: unknown, context: ExecutionContext): TokenClaims => {
  const claims = context.switchToHttp().getRequest<AuthenticatedRequest>().claims;
  if (!claims) throw new UnauthorizedException('missing bearer token');
  return claims;
});

/**
 * Global guard: every route needs a valid bearer token unless marked @Public(), and the
 * token's role must be one of the route's @Roles(). Missing/garbled/expired, or a token
 * whose user was disabled, whose session ended or whose terminal was revoked → 401;
 * wrong role → 403.
 */
@Injectable()
export class AuthGuard implements CanActivate, OnModuleInit {
  private sessions?: SessionCheck;

  constructor(
    private readonly jwt: JwtService,
    private readonly reflector: Reflector,
    private readonly modules: ModuleRef,
  ) {}

  /** The app's SessionCheck, provided under SESSION_CHECK in the app's own module. */
  onModuleInit(): void {
    this.sessions = this.modules.get<SessionCheck>(SESSION_CHECK, { strict: false });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization ?? '';
    const [scheme, token] = header.split(' ');
    if (scheme !== 'Bearer' || !token) throw new UnauthorizedException('missing bearer token');
    try {
      request.claims = await verifyToken(this.jwt, token);
    } catch (error) {
      throw new UnauthorizedException(error instanceof TokenRefused ? error.message : 'invalid token');
    }
    const refusal = await this.sessions?.refusal(request.claims);
    if (refusal) throw new UnauthorizedException(refusal);
    const roles = this.reflector.getAllAndOverride<ActorRole[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(request.claims.role)) {
      throw new ForbiddenException(`role ${request.claims.role} may not do this`);
    }
    return true;
  }
}
