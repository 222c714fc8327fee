import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentClaims, Roles, type TokenClaims } from '@lastmeter/auth';
import type { ComplianceBoard, PresenceBoard, ReportPage } from '@lastmeter/contracts';
import { Answer } from '@lastmeter/platform';
import { listReports, queryStores, readCompliance, type RedisKeys } from '@lastmeter/read-models';
import { openNotes } from '@lastmeter/history';
import { ReportsQuery, StoreDirectoryQuery } from './read.dto';
import { ReadModels } from './read-models.service';
import { HQ_READERS, storesInScope } from './scope';
import { readLivePresence } from '../realtime/gateway-identity';

const PAGED_BOARD =
  'Without parameters: every store the board knows of. With `q` (code or name-word prefix), `regionId`, `tag`, ' +
  '`limit` (default 100, at most 500) or `cursor`: one page of the directory by code, every store of the page ' +
  'listed (zeros included), and `next` for the following page.';

@ApiTags('boards')
@ApiBearerAuth()
@Controller()
export class BoardController {
  constructor(private readonly models: ReadModels) {}

  @Get('compliance')
  @Roles(...HQ_READERS, 'store-manager')
  @ApiOperation({
    summary: 'Open and overdue tasks per store, most overdue first',
    description: PAGED_BOARD,
  })
  @Answer('ComplianceBoard')
  async compliance(
    @Query() query: StoreDirectoryQuery,
    @CurrentClaims() claims: TokenClaims,
  ): Promise<ComplianceBoard> {
    const keys = await this.models.keys();
    const now = new Date();
    const page = await this.page(keys, query, claims);
    const items = await readCompliance(this.models.redis, keys, now, page.storeIds);
    // A signed-in person's note is sealed with their key: opened now (docs/privacy.md).
    await openNotes(
      this.models.redis,
      keys,
      items.flatMap((store) => store.tasks.flatMap((task) => (task.evidence ? [task.evidence] : []))),
    );
    return {
      at: now.toISOString(),
      items,
      ...(page.next ? { next: page.next } : {}),
    };
  }

  @Get('presence')
  @Roles(...HQ_READERS, 'store-manager')
  @ApiOperation({ summary: 'Online terminals per store', description: PAGED_BOARD })
  @Answer('PresenceBoard')
  async presence(@Query() query: StoreDirectoryQuery, @CurrentClaims() claims: TokenClaims): Promise<PresenceBoard> {
    const keys = await this.models.keys();
    const page = await this.page(keys, query, claims);
    return {
      items: await readLivePresence(this.models.redis, keys, page.storeIds),
      ...(page.next ? { next: page.next } : {}),
    };
  }

  /**
   * The stores a board shows: the token's scope, or with any of q, regionId, tag, limit or
   * cursor one page of the directory index (by code); otherwise undefined (every store
   * the board knows of).
   */
  private async page(
    keys: RedisKeys,
    query: StoreDirectoryQuery,
    claims: TokenClaims,
  ): Promise<{ storeIds?: string[]; next?: string }> {
    const { storeId, ...directory } = query;
    const scope = storesInScope(claims, storeId);
    if (scope) return { storeIds: scope };
    if (Object.values(directory).every((value) => value === undefined)) return {};
    const page = await queryStores(this.models.redis, keys, { ...directory, limit: directory.limit ?? 100 });
    return { storeIds: page.items.map((s) => s.id), next: page.next };
  }

  @Get('reports')
  @Roles(...HQ_READERS, 'store-manager')
  @ApiOperation({ summary: 'Field reports inbox, newest first' })
  @Answer('ReportPage')
  async reports(@Query() query: ReportsQuery, @CurrentClaims() claims: TokenClaims): Promise<ReportPage> {
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
