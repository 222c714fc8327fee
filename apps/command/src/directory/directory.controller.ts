import {
  Body,
  Controller,
  Delete,
  HttpCode,
  Inject,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  UseGuards,
} from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { LOGIN_THROTTLERS, LoginThrottlerGuard } from '../auth/login-throttler.guard';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { JwtService } from '@nestjs/jwt';
import type { Actor, CommandResult, EnrollResult, TerminalRegistration } from '@lastmeter/contracts';
import { Answer, DecidedCommand, Refuses } from '@lastmeter/platform';
import { CurrentActor, Public, Roles, type TokenClaims } from '@lastmeter/auth';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { RuleViolation } from '@lastmeter/domain';
import { IdempotencyKey, IfMatch } from '../http/headers';
import { CLOCK, CommandBus, type Clock } from '@lastmeter/write-engine';
import { DirectoryLookup } from './directory-lookup';
import {
  DefineRegionDto,
  EnrollTerminalDto,
  RegisterStoreDto,
  RegisterTerminalDto,
  RevokeTerminalDto,
  UpdateStoreDto,
} from './directory.dto';
import { enrollmentExpiry, hashEnrollmentCode, newEnrollmentCode } from './enrollment-code';

const id = new ParseUUIDPipe();

@ApiTags('directory')
@ApiBearerAuth()
@Controller()
export class DirectoryController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig<'command'>,
    private readonly bus: CommandBus,
    private readonly lookup: DirectoryLookup,
    private readonly jwt: JwtService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post('regions')
  @Roles('hq-admin')
  @Answer('CommandResult', { status: 201, description: 'Defined' })
  @DecidedCommand()
  async defineRegion(
    @Body() body: DefineRegionDto,
    @CurrentActor() actor: Actor,
    @IdempotencyKey() key?: string,
  ): Promise<CommandResult> {
    const command = { type: 'region.define' as const, payload: { code: body.code, name: body.name } };
    return (await this.bus.dispatch({ command, actor, naturalKey: body.code.toLowerCase(), idempotencyKey: key })).body;
  }

  @Post('stores')
  @Roles('hq-admin')
  @Answer('CommandResult', { status: 201, description: 'Registered' })
  @DecidedCommand()
  async registerStore(
    @Body() body: RegisterStoreDto,
    @CurrentActor() actor: Actor,
    @IdempotencyKey() key?: string,
  ): Promise<CommandResult> {
    const command = { type: 'store.register' as const, payload: { ...body } };
    return (await this.bus.dispatch({ command, actor, naturalKey: body.code.toLowerCase(), idempotencyKey: key })).body;
  }

  @Patch('stores/:id')
  @HttpCode(200)
  @Roles('hq-admin')
  @Answer('CommandResult')
  @DecidedCommand()
  async updateStore(
    @Param('id', id) storeId: string,
    @Body() body: UpdateStoreDto,
    @CurrentActor() actor: Actor,
    @IfMatch() expectedVersion?: number,
    @IdempotencyKey() key?: string,
  ): Promise<CommandResult> {
    const command = { type: 'store.update' as const, payload: { ...body } };
    return (await this.bus.dispatch({ command, actor, aggregateId: storeId, expectedVersion, idempotencyKey: key }))
      .body;
  }

  /** Issues a single-use enrollment code (valid 24 h) for a new terminal of a store. */
  @Post('terminals')
  @Roles('hq-admin')
  @Answer('TerminalRegistration', { status: 201, description: 'Registered: the enrollment code is shown this once' })
  @DecidedCommand()
  async registerTerminal(
    @Body() body: RegisterTerminalDto,
    @CurrentActor() actor: Actor,
  ): Promise<TerminalRegistration> {
    const enrollmentCode = newEnrollmentCode();
    const expiresAt = enrollmentExpiry(this.clock.now());
    const command = {
      type: 'terminal.register' as const,
      payload: {
        storeId: body.storeId,
        ...(body.name ? { name: body.name } : {}),
        roles: body.roles ?? [],
        ...(body.kind ? { kind: body.kind } : {}),
        enrollmentCodeHash: hashEnrollmentCode(enrollmentCode),
        enrollmentExpiresAt: expiresAt,
      },
    };
    // No Idempotency-Key here: a replay could not show the code again (only its hash is
    // kept, in lastmeter.credentials.v1, never in the event log).
    const { body: outcome } = await this.bus.dispatch({ command, actor });
    return { terminalId: outcome.id, enrollmentCode, expiresAt, version: outcome.version };
  }

  /**
   * A store tablet redeems its code for a device token bound to its store. Public, so
   * throttled per client address (ENROLL_LIMIT_PER_IP); there is no username.
   */
  @Public()
  @Post('terminals/enroll')
  @UseGuards(LoginThrottlerGuard)
  @SkipThrottle({ [LOGIN_THROTTLERS.perUsername]: true, [LOGIN_THROTTLERS.perIp]: true })
  @Answer('EnrollResult', { status: 201, description: 'Enrolled: the device token' })
  @DecidedCommand()
  @Refuses([429, 'Too many attempts from this address: wait Retry-After seconds'])
  async enroll(@Body() body: EnrollTerminalDto): Promise<EnrollResult> {
    const codeHash = hashEnrollmentCode(body.code);
    const terminalId = await this.lookup.terminalByCode(codeHash);
    if (!terminalId) throw new RuleViolation('enrollment code is invalid, used or expired');
    const actor: Actor = { id: terminalId, role: 'terminal' };
    const enrolled = await this.bus.dispatch({
      command: { type: 'terminal.enroll', payload: { enrollmentCodeHash: codeHash } },
      actor,
      aggregateId: terminalId,
    });
    // Its store and kind as decided, even if another instance decided (and this one's view lags).
    const terminal = await this.lookup.terminalAt(terminalId, enrolled.body.version);
    // A screen's token has its own role: the gateway lets it read, nothing else.
    const role = terminal.kind === 'screen' ? 'screen' : 'terminal';
    const claims: TokenClaims = { sub: terminalId, role, storeId: terminal.storeId, roles: terminal.roles };
    // DEVICE_TOKEN_MAX_AGE_DAYS; the gateway renews it on connect past half its age.
    const token = await this.jwt.signAsync(claims, { expiresIn: `${this.config.DEVICE_TOKEN_MAX_AGE_DAYS}d` });
    return { token, terminalId, storeId: terminal.storeId };
  }

  @Delete('terminals/:id')
  @HttpCode(200)
  @Roles('hq-admin')
  @Answer('CommandResult')
  @DecidedCommand()
  async revoke(
    @Param('id', id) terminalId: string,
    @Body() body: RevokeTerminalDto,
    @CurrentActor() actor: Actor,
    @IdempotencyKey() key?: string,
  ): Promise<CommandResult> {
    const command = { type: 'terminal.revoke' as const, payload: { ...body } };
    return (await this.bus.dispatch({ command, actor, aggregateId: terminalId, idempotencyKey: key })).body;
  }
}
