import {
  Body,
  ConflictException,
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
  Req,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import type { Request } from 'express';
import type { Actor, CommandResult, StaffSession, StaffUnlocked } from '@lastmeter/contracts';
import { Answer, DecidedCommand, Refuses } from '@lastmeter/platform';
import {
  CurrentActor,
  CurrentClaims,
  ERASED_PERSON,
  hashPin,
  openText,
  pinPepper,
  Roles,
  sealText,
  signStaffToken,
  STAFF_SESSION_TTL_S,
  staffSessionOrForbidden,
  verifyPin,
  type TokenClaims,
} from '@lastmeter/auth';
import { CLOCK, CommandBus, type Clock } from '@lastmeter/write-engine';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { EmptyDto } from '../http/empty.dto';
import { IdempotencyKey, IfMatch } from '../http/headers';
import { DirectoryLookup } from '../directory/directory-lookup';
import { AddStaffDto, RemoveStaffDto, SignInDto, UnlockStaffDto, UpdateStaffDto } from './staff.dto';
import { PersonKeys } from './person-keys';
import { PinAttempts } from './pin-attempts';

const uuid = new ParseUUIDPipe();

const locked = () =>
  new HttpException(
    { statusCode: 423, message: 'locked after too many wrong PINs: a manager unlocks them', locked: true },
    423,
  );

/**
 * A store's staff (issue 21): the people who share its tablets. An hq-admin manages every
 * store's roster, a store-manager their own. Names are personal data: sealed with the
 * person's own key before the command is written (docs/privacy.md), so erasing a person
 * (`DELETE /v1/staff/:id/personal-data`) is deleting that key.
 */
@ApiTags('staff')
@ApiBearerAuth()
@Controller()
export class StaffController {
  constructor(
    private readonly bus: CommandBus,
    private readonly lookup: DirectoryLookup,
    private readonly keys: PersonKeys,
    private readonly attempts: PinAttempts,
    private readonly jwt: JwtService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig<'command'>,
  ) {
    this.pepper = pinPepper(config.LASTMETER_JWT_SECRET);
  }

  /** Keys the PIN hashes (see hashPin): derived from the server's secret. */
  private readonly pepper: Buffer;

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
  @DecidedCommand()
  @Roles('hq-admin', 'store-manager')
  @Answer('CommandResult', { status: 201, description: 'Added: `id` is the staff member' })
  async add(
    @Param('storeId', uuid) storeId: string,
    @Body() body: AddStaffDto,
    @CurrentActor() actor: Actor,
  ): Promise<CommandResult> {
    await this.checkStore(actor, storeId);
    const staffId = randomUUID();
    const pinHash = hashPin(this.pepper, staffId, body.pin);
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
  @DecidedCommand()
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
        ...(body.pin ? { pinHash: hashPin(this.pepper, staffId, body.pin) } : {}),
      },
    };
    return (await this.bus.dispatch({ command, actor, aggregateId: staffId, expectedVersion })).body;
  }

  /** The person left the store: they can no longer sign in; what they did stays, under their name. */
  @Delete('stores/:storeId/staff/:id')
  @DecidedCommand()
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
   * A person signs in on a tablet of their store with their PIN (issue 21). Wrong PINs
   * are counted: after STAFF_PIN_MAX_FAILURES in a row the person is locked (423) until a
   * manager unlocks them, and a tablet entering too many wrong PINs waits (429). Nothing
   * of this is written to the log.
   */
  @Post('stores/:storeId/staff/:id/sign-in')
  @HttpCode(200)
  @Roles('terminal')
  @Answer('StaffSession', { description: 'Signed in: the session to send with their receipts' })
  @Refuses(
    [401, 'Wrong PIN: `attemptsLeft` before the person is locked'],
    [423, 'The person is locked out: a manager unlocks them'],
    [429, 'Too many wrong PINs from this tablet: wait Retry-After seconds'],
  )
  async signIn(
    @Param('storeId', uuid) storeId: string,
    @Param('id', uuid) staffId: string,
    @Body() body: SignInDto,
    @CurrentClaims() claims: TokenClaims,
    @Req() request: Request,
  ): Promise<StaffSession> {
    if (claims.storeId !== storeId) throw new ForbiddenException("a tablet signs in its own store's staff only");
    const staff = await this.lookup.staff(staffId);
    if (!staff || staff.storeId !== storeId || staff.status !== 'active') {
      throw new NotFoundException(`no active staff member ${staffId} in this store`);
    }
    const wait = await this.attempts.terminalWait(claims.sub);
    if (wait > 0) {
      request.res?.setHeader('Retry-After', String(wait));
      throw new HttpException(
        { statusCode: 429, message: `too many wrong PINs from this tablet: wait ${wait} s` },
        429,
      );
    }
    if (await this.attempts.locked(staffId)) throw locked();
    // A PIN changed through another instance a moment ago is not counted as wrong (matchesCredential).
    const right = await this.lookup.matchesCredential(
      () => this.lookup.pinHashOf(staffId),
      (hash) => verifyPin(this.pepper, staffId, body.pin, hash),
    );
    if (!right) {
      const attemptsLeft = await this.attempts.failed(staffId, claims.sub);
      if (attemptsLeft === 0) throw locked();
      throw new HttpException({ statusCode: 401, message: 'wrong PIN', attemptsLeft }, 401);
    }
    await this.attempts.succeeded(staffId);
    const token = await signStaffToken(this.jwt, { sub: staffId, storeId, tid: claims.sub, roles: staff.roles });
    const name = openText(await this.keys.keyOf(staffId), staffId, 'name', staff.name) ?? ERASED_PERSON;
    const expiresAt = new Date(this.clock.now().getTime() + STAFF_SESSION_TTL_S * 1000).toISOString();
    return { token, staffId, name, roles: staff.roles, expiresAt };
  }

  /**
   * A manager unlocks a person locked out by wrong PINs: an hq-admin, the store's
   * manager, or a staff member with the store-manager role signed in on a tablet of the
   * store (their session in `staff`).
   */
  @Post('stores/:storeId/staff/:id/unlock')
  @HttpCode(200)
  @Roles('hq-admin', 'store-manager', 'terminal')
  @Answer('StaffUnlocked')
  @Refuses([409, 'The staff member is not locked'])
  async unlock(
    @Param('storeId', uuid) storeId: string,
    @Param('id', uuid) staffId: string,
    @Body() body: UnlockStaffDto,
    @CurrentActor() actor: Actor,
  ): Promise<StaffUnlocked> {
    if (actor.role === 'terminal') {
      if (actor.storeId !== storeId) throw new ForbiddenException("a tablet unlocks its own store's staff only");
      const manager = staffSessionOrForbidden(this.jwt, body.staff, { terminalId: actor.id, storeId });
      if (!manager?.roles.includes('store-manager')) {
        throw new ForbiddenException('a store manager signed in on this tablet unlocks staff');
      }
    }
    await this.staffOf(actor, storeId, staffId);
    if (!(await this.attempts.unlock(staffId))) throw new ConflictException('the staff member is not locked');
    return { staffId, unlocked: true };
  }

  /**
   * Erasure (hq-admin): the person's key is deleted in the transaction of `staff.erased`.
   * From then on every replay, rebuild, export and screen shows "Erased person".
   */
  @Delete('staff/:id/personal-data')
  @DecidedCommand()
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
