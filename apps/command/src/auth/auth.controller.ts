import {
  BadRequestException,
  Body,
  Controller,
  ForbiddenException,
  HttpCode,
  Inject,
  Post,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor, LoginResult, PasswordChanged, UserRole } from '@lastmeter/contracts';
import { Answer, DecidedCommand, Refuses } from '@lastmeter/platform';
import type { UserState } from '@lastmeter/domain';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { CurrentActor, hashPassword, Public, USER_TOKEN_TTL, verifyPassword, type TokenClaims } from '@lastmeter/auth';
import { ChangeOwnPasswordDto, LoginDto } from '../directory/directory.dto';
import { CommandBus } from '@lastmeter/write-engine';
import { DirectoryLookup } from '../directory/directory-lookup';
import { SkipThrottle } from '@nestjs/throttler';
import { LOGIN_THROTTLERS, LoginThrottlerGuard } from './login-throttler.guard';

/** Sub of the configured admin (not in the log, so it has no lifecycle of its own). */
export const CONFIGURED_ADMIN = 'admin:';

/**
 * Login and self-service password change. Every path through login costs one scrypt
 * verification (unknown user, configured admin, wrong or right password alike), so the
 * response time does not tell which usernames exist.
 */
@ApiTags('auth')
@Controller('auth')
export class AuthController {
  /** Used to spend the same time on unknown users as on wrong passwords. */
  private readonly decoyHash = hashPassword('decoy-password-for-unknown-users');
  /** The configured admin's password, hashed once at start, verified like anyone's. */
  private readonly adminHash: Promise<string>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig<'command'>,
    private readonly lookup: DirectoryLookup,
    private readonly jwt: JwtService,
    private readonly bus: CommandBus,
  ) {
    this.adminHash = hashPassword(config.LASTMETER_ADMIN_PASSWORD);
  }

  /** Throttled per client address and per username (LOGIN_LIMIT_PER_IP, LOGIN_LIMIT_PER_USERNAME). */
  @Public()
  @Post('login')
  @HttpCode(200)
  @UseGuards(LoginThrottlerGuard)
  @SkipThrottle({ [LOGIN_THROTTLERS.enrollPerIp]: true })
  @Answer('LoginResult')
  @Refuses(
    [401, 'Wrong username or password'],
    [403, 'The account is disabled (said only to someone who knows its password)'],
    [429, 'Too many attempts for this address or username: wait Retry-After seconds'],
    503,
  )
  async login(@Body() body: LoginDto): Promise<LoginResult> {
    const claims = await this.authenticate(body.username, body.password);
    const token = await this.jwt.signAsync(claims, { expiresIn: USER_TOKEN_TTL });
    return { token, role: claims.role, ...(claims.storeId ? { storeId: claims.storeId } : {}) };
  }

  private async authenticate(username: string, password: string): Promise<UserClaims> {
    // Every path waits for the log and verifies one scrypt hash, so that neither the
    // configured admin nor an unknown username answers faster than a real account.
    await this.lookup.settled();
    // The first hq-admin comes from configuration, not from the log.
    if (username === this.config.LASTMETER_ADMIN_USER) {
      if (!(await verifyPassword(password, await this.adminHash))) throw wrongCredentials();
      return { sub: `${CONFIGURED_ADMIN}${username}`, role: 'hq-admin', username };
    }
    const account = await this.lookup.account(username);
    const ok = await verifyPassword(password, account?.passwordHash ?? (await this.decoyHash));
    if (!account || !ok) throw wrongCredentials();
    // Only someone who knows the password learns that the account is disabled.
    if (account.disabled) throw new ForbiddenException('this account is disabled; ask an hq-admin');
    return claimsOf({ ...account, id: account.userId });
  }

  /** `{ currentPassword, newPassword }`: a new password for the caller; the answer carries a fresh token. */
  @Post('password')
  @HttpCode(200)
  @ApiBearerAuth()
  @UseGuards(LoginThrottlerGuard)
  @SkipThrottle({ [LOGIN_THROTTLERS.enrollPerIp]: true })
  @Answer('PasswordChanged')
  @DecidedCommand()
  @Refuses([429, 'Too many attempts for this address or username: wait Retry-After seconds'])
  async changeOwnPassword(@Body() body: ChangeOwnPasswordDto, @CurrentActor() actor: Actor): Promise<PasswordChanged> {
    if (actor.id.startsWith(CONFIGURED_ADMIN) || actor.role === 'terminal' || actor.role === 'system') {
      throw new ForbiddenException(
        'this account has no password to change here (the configured admin uses LASTMETER_ADMIN_PASSWORD)',
      );
    }
    // The password may have been set through another instance a moment ago (matchesCredential).
    const current = await this.lookup.matchesCredential(
      () => this.lookup.passwordHashOf(actor.id),
      (hash) => verifyPassword(body.currentPassword, hash),
    );
    if (!current) {
      // 400, not 401: the caller's token is fine (a client would log out on 401).
      throw new BadRequestException({
        message: 'invalid request: currentPassword',
        fields: { currentPassword: ['is not the current password'] },
      });
    }
    const passwordHash = await hashPassword(body.newPassword);
    const outcome = await this.bus.dispatch({
      command: { type: 'user.set-password', payload: { passwordHash, by: 'self' } },
      actor,
      aggregateId: actor.id,
    });
    // The new session version, even if another instance decided (and this one's view lags).
    const user = await this.lookup.userAt(actor.id, outcome.body.version);
    if (!user?.role) throw new UnauthorizedException('user not found');
    const token = await this.jwt.signAsync(claimsOf({ ...user, role: user.role }), { expiresIn: USER_TOKEN_TTL });
    return { ...outcome.body, token };
  }
}

/** A user token's claims, at the user's current session version. */
/** A person's token claims (never a terminal's). */
type UserClaims = TokenClaims & { role: UserRole };

function claimsOf(
  user: Pick<UserState, 'id' | 'username' | 'storeId' | 'sessionVersion'> & { role: UserRole },
): UserClaims {
  return {
    sub: user.id,
    role: user.role,
    username: user.username,
    sv: user.sessionVersion,
    ...(user.storeId ? { storeId: user.storeId } : {}),
  };
}

function wrongCredentials(): UnauthorizedException {
  return new UnauthorizedException('wrong username or password');
}
