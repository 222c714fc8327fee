import { Controller, Get, NotFoundException, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentClaims, Roles, type TokenClaims } from '@lastmeter/auth';
import { namedStaff } from '@lastmeter/history';
import type { StaffList, StaffView } from '@lastmeter/contracts';
import { Answer } from '@lastmeter/platform';
import { getStore, lockedStaff } from '@lastmeter/read-models';
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
  constructor(private readonly models: ReadModels) {}

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
}
