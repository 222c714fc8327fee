import { Controller, Get, NotFoundException, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentClaims, Roles, type TokenClaims } from '@lastmeter/auth';
import { getStore, listRegions, listStores, listTerminals, readFeed } from '@lastmeter/read-models';
import { FeedQuery, StoreFilterQuery } from './read.dto';
import { ReadModels } from './read-models.service';
import { HQ_READERS, requireActiveTerminal, requireStore, storesInScope, STORE_READERS, visibleTo } from './scope';

const id = new ParseUUIDPipe();

@ApiTags('stores')
@ApiBearerAuth()
@Controller()
export class StoresController {
  constructor(private readonly models: ReadModels) {}

  @Get('stores/:id/feed')
  @Roles(...HQ_READERS, ...STORE_READERS)
  @ApiOperation({
    summary: "A store's feed after a cursor",
    description:
      'Items with feedSeq > after, in order; `next` is the cursor for the following page. Items restricted to ' +
      'roles the caller does not serve come as `{ feedSeq, hidden: true }`.',
  })
  async feed(@Param('id', id) storeId: string, @Query() query: FeedQuery, @CurrentClaims() claims: TokenClaims) {
    requireStore(claims, storeId);
    const keys = await this.models.keys();
    await requireActiveTerminal(this.models.redis, keys, claims);
    const limit = query.limit ?? 100;
    const { items, headSeq } = await readFeed(this.models.redis, keys, storeId, query.after ?? 0, limit);
    if (headSeq === 0 && !(await getStore(this.models.redis, keys, storeId))) {
      throw new NotFoundException('no such store');
    }
    const last = items.at(-1)?.feedSeq;
    return {
      storeId,
      headSeq,
      items: items.map((item) => visibleTo(claims, item)),
      ...(last !== undefined && last < headSeq ? { next: String(last) } : {}),
    };
  }

  @Get('stores')
  @Roles(...HQ_READERS, 'store-manager')
  @ApiOperation({ summary: 'Stores (a store manager sees their own)' })
  async stores(@CurrentClaims() claims: TokenClaims) {
    const stores = await listStores(this.models.redis, await this.models.keys());
    const scope = storesInScope(claims);
    return { items: scope ? stores.filter((s) => scope.includes(s.id)) : stores };
  }

  @Get('stores/:id')
  @Roles(...HQ_READERS, ...STORE_READERS)
  async store(@Param('id', id) storeId: string, @CurrentClaims() claims: TokenClaims) {
    requireStore(claims, storeId);
    const store = await getStore(this.models.redis, await this.models.keys(), storeId);
    if (!store) throw new NotFoundException('no such store');
    return store;
  }

  @Get('regions')
  @Roles(...HQ_READERS, 'agency')
  async regions() {
    return { items: await listRegions(this.models.redis, await this.models.keys()) };
  }

  @Get('terminals')
  @Roles(...HQ_READERS, 'store-manager')
  @ApiOperation({ summary: 'Terminals, optionally of one store (a store manager sees their own store)' })
  async terminals(@Query() query: StoreFilterQuery, @CurrentClaims() claims: TokenClaims) {
    const scope = storesInScope(claims, query.storeId);
    return { items: await listTerminals(this.models.redis, await this.models.keys(), scope?.[0]) };
  }
}
