import {
  Body,
  ConflictException,
  Controller,
  HttpCode,
  Inject,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '@lastmeter/contracts';
import { Answer, DecidedCommand } from '@lastmeter/platform';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { CurrentActor, hashPassword, Roles } from '@lastmeter/auth';
import { ChangeRoleDto, CreateUserDto, DisableUserDto, ResetPasswordDto } from '../directory/directory.dto';
import { EmptyDto } from '../http/empty.dto';
import { IdempotencyKey, IfMatch } from '../http/headers';
import { CommandBus } from '@lastmeter/write-engine';

const id = new ParseUUIDPipe();

/**
 * People (hq-admin): create, disable and enable, reset a password, change a role. A
 * disabled user cannot log in, and every change that must end old tokens bumps the
 * user's session version: their tokens are refused within a second on every route and
 * socket (docs/security.md).
 */
@ApiTags('users')
@ApiBearerAuth()
@Roles('hq-admin')
@DecidedCommand()
@Controller('users')
export class UsersController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig<'command'>,
    private readonly bus: CommandBus,
  ) {}

  @Post()
  @Answer('CommandResult', { status: 201, description: 'Created' })
  async create(@Body() body: CreateUserDto, @CurrentActor() actor: Actor) {
    if (body.username === this.config.LASTMETER_ADMIN_USER) {
      throw new ConflictException('username already taken (by the configured admin)');
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

  @Post(':id/disable')
  @HttpCode(200)
  @Answer('CommandResult')
  async disable(
    @Param('id', id) userId: string,
    @Body() body: DisableUserDto,
    @CurrentActor() actor: Actor,
    @IfMatch() expectedVersion?: number,
    @IdempotencyKey() key?: string,
  ) {
    const command = { type: 'user.disable' as const, payload: body.reason ? { reason: body.reason } : {} };
    return (await this.bus.dispatch({ command, actor, aggregateId: userId, expectedVersion, idempotencyKey: key }))
      .body;
  }

  @Post(':id/enable')
  @HttpCode(200)
  @Answer('CommandResult')
  async enable(
    @Param('id', id) userId: string,
    @Body() _body: EmptyDto,
    @CurrentActor() actor: Actor,
    @IfMatch() expectedVersion?: number,
    @IdempotencyKey() key?: string,
  ) {
    const command = { type: 'user.enable' as const, payload: {} };
    return (await this.bus.dispatch({ command, actor, aggregateId: userId, expectedVersion, idempotencyKey: key }))
      .body;
  }

  /** An admin reset: the user's tokens stop working; tell them the new password out of band. */
  @Post(':id/password')
  @HttpCode(200)
  @Answer('CommandResult')
  async resetPassword(@Param('id', id) userId: string, @Body() body: ResetPasswordDto, @CurrentActor() actor: Actor) {
    const passwordHash = await hashPassword(body.password);
    const command = { type: 'user.set-password' as const, payload: { passwordHash, by: 'admin' as const } };
    // No Idempotency-Key: a retried reset is a second reset (the hash is salted anew).
    return (await this.bus.dispatch({ command, actor, aggregateId: userId })).body;
  }

  @Patch(':id')
  @HttpCode(200)
  @Answer('CommandResult')
  async changeRole(
    @Param('id', id) userId: string,
    @Body() body: ChangeRoleDto,
    @CurrentActor() actor: Actor,
    @IfMatch() expectedVersion?: number,
    @IdempotencyKey() key?: string,
  ) {
    const command = {
      type: 'user.change-role' as const,
      payload: { role: body.role, ...(body.storeId ? { storeId: body.storeId } : {}) },
    };
    return (await this.bus.dispatch({ command, actor, aggregateId: userId, expectedVersion, idempotencyKey: key }))
      .body;
  }
}
