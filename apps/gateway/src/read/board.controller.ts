import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentClaims, Roles, type TokenClaims } from '@lastmeter/auth';
import { listReports, readCompliance } from '@lastmeter/read-models';
import { ReportsQuery, StoreFilterQuery } from './read.dto';
import { ReadModels } from './read-models.service';
import { HQ_READERS, storesInScope } from './scope';
import { readLivePresence } from '../realtime/gateway-identity';

@ApiTags('boards')
@ApiBearerAuth()
@Controller()
export class BoardController {
  constructor(private readonly models: ReadModels) {}

  @Get('compliance')
  @Roles(...HQ_READERS, 'store-manager')
  @ApiOperation({ summary: 'Open and overdue tasks per store, most overdue first' })
  async compliance(@Query() query: StoreFilterQuery, @CurrentClaims() claims: TokenClaims) {
    const scope = storesInScope(claims, query.storeId);
    const now = new Date();
    return {
      at: now.toISOString(),
      items: await readCompliance(this.models.redis, await this.models.keys(), now, scope),
    };
  }

  @Get('presence')
  @Roles(...HQ_READERS, 'store-manager')
  @ApiOperation({ summary: 'Online terminals per store' })
  async presence(@Query() query: StoreFilterQuery, @CurrentClaims() claims: TokenClaims) {
    const scope = storesInScope(claims, query.storeId);
    return { items: await readLivePresence(this.models.redis, await this.models.keys(), scope) };
  }

  @Get('reports')
  @Roles(...HQ_READERS, 'store-manager')
  @ApiOperation({ summary: 'Field reports inbox, newest first' })
  async reports(@Query() query: ReportsQuery, @CurrentClaims() claims: TokenClaims) {
    const scope = storesInScope(claims, query.storeId);
    const page = await listReports(this.models.redis, await this.models.keys(), {
      storeId: scope?.[0],
      cursor: query.cursor,
      limit: query.limit ?? 50,
    });
    if (!page) throw new BadRequestException({ message: 'invalid cursor', fields: { cursor: ['unknown cursor'] } });
    return page;
  }
}
