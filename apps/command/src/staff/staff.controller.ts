import {
  Body,
  Controller,
  Delete,
  ForbiddenException,
  HttpCode,
  HttpException,
  Inject,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import type { Actor, CommandResult } from '@lastmeter/contracts';
import { Answer, DecidedCommand } from '@lastmeter/platform';
import { CurrentActor, hashPassword, Roles, sealText } from '@lastmeter/auth';
import { CLOCK, CommandBus, type Clock } from '@lastmeter/write-engine';
import { EmptyDto } from '../http/empty.dto';
import { IdempotencyKey, IfMatch } from '../http/headers';
import { DirectoryLookup } from '../directory/directory-lookup';
import { AddStaffDto, RemoveStaffDto, UpdateStaffDto } from './staff.dto';
import { PersonKeys } from './person-keys';

const uuid = new ParseUUIDPipe();

/**
 * A store's staff (issue 21): the people who share its tablets. An hq-admin manages every
 * store's roster, a store-manager their own. Names are personal data: sealed with the
 * person's own key before the command is written (docs/privacy.md), so erasing a person
 * (`DELETE /v1/staff/:id/personal-data`) is deleting that key.
 */
@ApiTags('staff')
@ApiBearerAuth()
@DecidedCommand()
@Controller()
export class StaffController {
  constructor(
    private readonly bus: CommandBus,
    private readonly lookup: DirectoryLookup,
    private readonly keys: PersonKeys,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Refused before anything is written: another store's roster, or a store that does not exist. */
  private async checkStore(actor: Actor, storeId: string): Promise<void> {
    if (actor.role === 'store-manager' && actor.storeId !== storeId) {
      throw new ForbiddenException("a store manager manages their own store's staff only");
    }
    if (!(await this.lookup.storeExists(storeId))) throw new NotFoundException(`store ${storeId} not found`);
  }

  /** The staff member, who must be of this store (404 otherwise: ids of other stores are not confirmed). */
  private async staffOf(actor: Actor, storeId: string, staffId: string) {
    await this.checkStore(actor, storeId);
    const staff = await this.lookup.staff(staffId);
    if (!staff || staff.storeId !== storeId)
      throw new NotFoundException(`staff member ${staffId} not found in this store`);
    return staff;
  }

  @Post('stores/:storeId/staff')
  @Roles('hq-admin', 'store-manager')
  @Answer('CommandResult', { status: 201, description: 'Added: `id` is the staff member' })
  async add(
    @Param('storeId', uuid) storeId: string,
    @Body() body: AddStaffDto,
    @CurrentActor() actor: Actor,
  ): Promise<CommandResult> {
    await this.checkStore(actor, storeId);
    const staffId = randomUUID();
    const pinHash = await hashPassword(body.pin);
    const key = await this.unlessUnavailable(() => this.keys.create(staffId, this.clock.now()));
    const command = {
      type: 'staff.add' as const,
      payload: { storeId, name: sealText(key, staffId, 'name', body.name), roles: body.roles, pinHash },
    };
    // No Idempotency-Key: a retry would seal the name under a second key (as a terminal's
    // code, a new person is made once per request).
    try {
      return (await this.bus.dispatch({ command, actor, aggregateId: staffId })).body;
    } catch (error) {
      // Refused, or never written: the key sealed nothing that is kept.
      if (error instanceof HttpException && error.getStatus() >= 400) await this.keys.discard(staffId).catch(() => {});
      throw error;
    }
  }

  @Patch('stores/:storeId/staff/:id')
  @HttpCode(200)
  @Roles('hq-admin', 'store-manager')
  @Answer('CommandResult')
  async update(
    @Param('storeId', uuid) storeId: string,
    @Param('id', uuid) staffId: string,
    @Body() body: UpdateStaffDto,
    @CurrentActor() actor: Actor,
    @IfMatch() expectedVersion?: number,
  ): Promise<CommandResult> {
    await this.staffOf(actor, storeId, staffId);
    let name;
    if (body.name !== undefined) {
      const key = await this.keys.keyOf(staffId);
      // Without a key the person was erased (the decider refuses any change then).
      if (key) name = sealText(key, staffId, 'name', body.name);
    }
    const command = {
      type: 'staff.update' as const,
      payload: {
        ...(name ? { name } : {}),
        ...(body.roles ? { roles: body.roles } : {}),
        ...(body.pin ? { pinHash: await hashPassword(body.pin) } : {}),
      },
    };
    return (await this.bus.dispatch({ command, actor, aggregateId: staffId, expectedVersion })).body;
  }

  /** The person left the store: they can no longer sign in; what they did stays, under their name. */
  @Delete('stores/:storeId/staff/:id')
  @HttpCode(200)
  @Roles('hq-admin', 'store-manager')
  @Answer('CommandResult')
  async remove(
    @Param('storeId', uuid) storeId: string,
    @Param('id', uuid) staffId: string,
    @Body() body: RemoveStaffDto,
    @CurrentActor() actor: Actor,
    @IdempotencyKey() key?: string,
  ): Promise<CommandResult> {
    await this.staffOf(actor, storeId, staffId);
    const command = { type: 'staff.remove' as const, payload: body.reason ? { reason: body.reason } : {} };
    return (await this.bus.dispatch({ command, actor, aggregateId: staffId, idempotencyKey: key })).body;
  }

  /**
   * Erasure (hq-admin): the person's key is deleted in the transaction of `staff.erased`.
   * From then on every replay, rebuild, export and screen shows "Erased person".
   */
  @Delete('staff/:id/personal-data')
  @HttpCode(200)
  @Roles('hq-admin')
  @Answer('CommandResult')
  async erase(
    @Param('id', uuid) staffId: string,
    @Body() _body: EmptyDto,
    @CurrentActor() actor: Actor,
    @IdempotencyKey() key?: string,
  ): Promise<CommandResult> {
    const command = { type: 'staff.erase' as const, payload: {} };
    const result = (await this.bus.dispatch({ command, actor, aggregateId: staffId, idempotencyKey: key })).body;
    // The projector deletes the mirrored key too when it reads the tombstone; this makes
    // the answer true at once.
    await this.keys.forget(staffId);
    return result;
  }

  private async unlessUnavailable<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      throw new ServiceUnavailableException(
        `the person-key store is unreachable, nothing was recorded; retry later (${(error as Error).message})`,
      );
    }
  }
}
