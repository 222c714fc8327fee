import { Body, Controller, HttpCode, Inject, Post, UnauthorizedException, UseGuards } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import { LoginThrottlerGuard } from './login-throttler.guard';
import type { Actor } from '@lastmeter/contracts';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import {
  CurrentActor,
  hashPassword,
  Public,
  Roles,
  USER_TOKEN_TTL,
  verifyPassword,
  type TokenClaims,
} from '@lastmeter/auth';
import { CreateUserDto, LoginDto } from '../directory/directory.dto';
import { CommandBus } from '../write/command-bus';
import { DirectoryLookup } from '../write/directory-lookup';

/** Used to spend the same time on unknown users as on wrong passwords. */
const DECOY_HASH = hashPassword('decoy-password-for-unknown-users');

@ApiTags('auth')
@Controller()
export class AuthController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig<'command'>,
    private readonly lookup: DirectoryLookup,
    private readonly jwt: JwtService,
    private readonly bus: CommandBus,
  ) {}

  /** Throttled per client address and username (brute force), 10 attempts a minute. */
  @Public()
  @Post('auth/login')
  @HttpCode(200)
  @UseGuards(LoginThrottlerGuard)
  @Throttle({ login: { limit: 10, ttl: 60_000 } })
  async login(@Body() body: LoginDto) {
    const claims = await this.authenticate(body.username, body.password);
    if (!claims) throw new UnauthorizedException('wrong username or password');
    const token = await this.jwt.signAsync(claims, { expiresIn: USER_TOKEN_TTL });
    return { token, role: claims.role, ...(claims.storeId ? { storeId: claims.storeId } : {}) };
  }

  private async authenticate(username: string, password: string): Promise<TokenClaims | undefined> {
    // The first hq-admin comes from configuration, not from the log.
    if (username === this.config.LASTMETER_ADMIN_USER) {
      await DECOY_HASH;
      return password === this.config.LASTMETER_ADMIN_PASSWORD
        ? { sub: `admin:${username}`, role: 'hq-admin', username }
        : undefined;
    }
    const credential = await this.lookup.credential(username);
    const ok = await verifyPassword(password, credential?.passwordHash ?? (await DECOY_HASH));
    if (!credential || !ok) return undefined;
    return {
      sub: credential.userId,
      role: credential.role,
      username: credential.username,
      ...(credential.storeId ? { storeId: credential.storeId } : {}),
    };
  }

  @Post('users')
  @ApiBearerAuth()
  @Roles('hq-admin')
  async createUser(@Body() body: CreateUserDto, @CurrentActor() actor: Actor) {
    if (body.username === this.config.LASTMETER_ADMIN_USER) {
      throw new UnauthorizedException('that username is reserved for the configured admin');
    }
    const passwordHash = await hashPassword(body.password);
    const command = {
      type: 'user.create' as const,
      payload: {
        username: body.username,
        role: body.role,
        ...(body.storeId ? { storeId: body.storeId } : {}),
        passwordHash,
      },
    };
    return (await this.bus.dispatch({ command, actor, naturalKey: body.username })).body;
  }
}
