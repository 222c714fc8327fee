import {
  Controller,
  ForbiddenException,
  Get,
  Headers,
  Inject,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Query,
} from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentClaims, Roles, staffSessionOrForbidden, type TokenClaims } from '@lastmeter/auth';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { namedStaff } from '@lastmeter/history';
import { servesAny, type StaffFeed, type StaffList, type StaffView } from '@lastmeter/contracts';
import { Answer } from '@lastmeter/platform';
import { getStaff, getStore, lockedStaff, readLiveSet } from '@lastmeter/read-models';
import { StaffQuery } from './read.dto';
import { ReadModels } from './read-models.service';
import { requireStore } from './scope';

/**
 * A store's roster (issue 21). Names are opened here, at the moment they are read, with
 * the keys the projector mirrors from lastmeter.person-keys.v1: a person whose key was
 * deleted is "Erased person" on every screen at once (docs/privacy.md).
 */
@ApiTags('staff')
@ApiBearerAuth()
@Controller()
export class StaffController {
  constructor(
    private readonly models: ReadModels,
    private readonly jwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig<'gateway'>,
  ) {}

  @Get('stores/:storeId/staff')
  // Personal data: head office's admins, the store's manager and its tablets (the staff picker).
  @Roles('hq-admin', 'store-manager', 'terminal')
  @ApiOperation({
    summary: "A store's staff, by name",
    description: 'Active people; with `all=true` also those removed and those erased ("Erased person").',
  })
  @Answer('StaffList')
  async list(
    @Param('storeId', new ParseUUIDPipe()) storeId: string,
    @Query() query: StaffQuery,
    @CurrentClaims() claims: TokenClaims,
  ): Promise<StaffList> {
    requireStore(claims, storeId);
    const keys = await this.models.keys();
    const staff = await namedStaff(this.models.redis, keys, [storeId]);
    if (staff.length === 0 && !(await getStore(this.models.redis, keys, storeId))) {
      throw new NotFoundException('no such store');
    }
    const shown = query.all === 'true' ? staff : staff.filter((person) => person.status === 'active');
    const locked = await lockedStaff(
      this.models.redis,
      keys,
      shown.map((person) => person.id),
    );
    const items: StaffView[] = shown.map((person) => ({
      id: person.id,
      storeId: person.storeId,
      name: person.displayName,
      roles: person.roles,
      status: person.status === 'none' ? 'active' : person.status,
      version: person.version,
      locked: locked.has(person.id),
    }));
    return { items: items.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id)) };
  }

  @Get('stores/:storeId/staff/:id/feed')
  @Roles('hq-admin', 'store-manager', 'terminal')
  @ApiOperation({
    summary: "What a person may see and has acknowledged: the store's live items for their roles",
    description:
      "A tablet sends the person's session (`X-Staff-Session`, from sign-in on this tablet): items restricted to " +
      'one of their roles come with their content, and `acknowledged` lists those they acknowledged (or completed).',
  })
  @Answer('StaffFeed')
  async feed(
    @Param('storeId', new ParseUUIDPipe()) storeId: string,
    @Param('id', new ParseUUIDPipe()) staffId: string,
    @CurrentClaims() claims: TokenClaims,
    @Headers('x-staff-session') session?: string,
  ): Promise<StaffFeed> {
    requireStore(claims, storeId);
    if (claims.role === 'terminal') {
      // Only the person, signed in on this very tablet.
      const signedIn = staffSessionOrForbidden(this.jwt, session, { terminalId: claims.sub, storeId });
      if (signedIn?.sub !== staffId) throw new ForbiddenException('sign this person in on this tablet first');
    }
    const keys = await this.models.keys();
    const person = await getStaff(this.models.redis, keys, staffId);
    if (!person || person.storeId !== storeId || person.status !== 'active') {
      throw new NotFoundException(`no active staff member ${staffId} in this store`);
    }
    const { items } = await readLiveSet(this.models.redis, keys, storeId, new Date(), this.config.NOTICE_MAX_AGE_DAYS);
    const theirs = items.filter((item) => servesAny(person.roles, item.communication.roles));
    const pipeline = this.models.redis.pipeline();
    for (const item of theirs) {
      pipeline.hexists(keys.model('people-reach', item.communication.id, storeId), `${staffId}:acknowledged`);
    }
    const replies = (await pipeline.exec()) ?? [];
    return {
      staffId,
      items: theirs,
      acknowledged: theirs.filter((_, i) => replies[i]?.[1] === 1).map((item) => item.communication.id),
    };
  }
}
