import { BadRequestException, Controller, Get, Inject, Query } from '@nestjs/common';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentClaims, Roles, type TokenClaims } from '@lastmeter/auth';
import { listReports, readCompliance, readPresence } from '@lastmeter/read-models';
import { ReportsQuery, StoreFilterQuery } from './read.dto';
import { ReadModels } from './read-models.service';
import { HQ_READERS, storesInScope } from './scope';
import { liveGateways } from '../realtime/gateway-identity';

@ApiTags('boards')
@ApiBearerAuth()
@Controller()
export class BoardController {
  constructor(
    private readonly models: ReadModels,
    @Inject(APP_CONFIG) private readonly config: SharedConfig,
  ) {}

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
    const stores = await readPresence(this.models.redis, await this.models.keys(), scope);
    // A terminal is online only while the gateway that serves it is alive (a crashed
    // gateway never wrote its terminals' terminal.disconnected).
    const live = await liveGateways(
      this.models.redis,
      this.config.REDIS_KEY_PREFIX,
      stores.flatMap((s) => s.online.map((t) => t.gatewayId)),
    );
    return { items: stores.map((s) => ({ ...s, online: s.online.filter((t) => live.has(t.gatewayId)) })) };
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
