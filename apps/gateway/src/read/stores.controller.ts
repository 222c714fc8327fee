import { BadRequestException, Controller, Get, NotFoundException, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentClaims, Roles, type TokenClaims } from '@lastmeter/auth';
import type {
  AudienceCount,
  FeedAnswer,
  RegionList,
  StorePage,
  StoreView,
  TerminalPage,
  UserList,
} from '@lastmeter/contracts';
import { Answer } from '@lastmeter/platform';
import {
  countAudience,
  feedAsOf,
  getStore,
  listRegions,
  queryTerminals,
  queryStores,
  matchesSearch,
  storeRows,
  listUsers,
  readFeed,
} from '@lastmeter/read-models';
import { AudienceCountQuery, FeedQuery, StoresQuery, TerminalsQuery } from './read.dto';
import { ReadModels } from './read-models.service';
import { HQ_READERS, requireStore, storesInScope, STORE_READERS, visibleTo } from './scope';

const id = new ParseUUIDPipe();

@ApiTags('stores')
@ApiBearerAuth()
@Controller()
export class StoresController {
  constructor(private readonly models: ReadModels) {}

  @Get('stores/:id/feed')
  @Roles(...HQ_READERS, ...STORE_READERS)
  @ApiOperation({
    summary: "A store's feed after a cursor, or as it stood at an instant",
    description:
      'Items with feedSeq > after, in order; `next` is the cursor for the following page. With `asOf`: the ' +
      'communications live for the store at that instant, each at its revision then, with the feedSeq of its ' +
      'latest entry. Items restricted to roles the caller does not serve come as `{ feedSeq, hidden: true }`.',
  })
  @Answer('FeedAnswer')
  async feed(
    @Param('id', id) storeId: string,
    @Query() query: FeedQuery,
    @CurrentClaims() claims: TokenClaims,
  ): Promise<FeedAnswer> {
    requireStore(claims, storeId);
    // A revoked terminal's token was already refused by the guard (GatewaySessionCheck).
    const keys = await this.models.keys();
    if (query.asOf !== undefined) {
      if (query.after !== undefined || query.limit !== undefined) {
        throw new BadRequestException({
          message: 'invalid request: asOf',
          fields: { asOf: ['asOf returns the whole feed at that instant; it does not combine with after or limit'] },
        });
      }
      if (!(await getStore(this.models.redis, keys, storeId))) throw new NotFoundException('no such store');
      const items = await feedAsOf(this.models.redis, keys, storeId, new Date(query.asOf));
      return { storeId, asOf: query.asOf, items: items.map((item) => visibleTo(claims, item)) };
    }
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
  // Agency composes for stores, so it may see the directory (not feeds or boards).
  @Roles(...HQ_READERS, 'store-manager', 'agency')
  @ApiOperation({
    summary: 'Stores by code, a page at a time (a store manager sees their own)',
    description:
      'Each word of `q` matches a prefix of the code or of a word of the name (case-insensitive); `regionId` and `tag` narrow ' +
      'it. Pages of `limit` (default 100, at most 500); `next` is the cursor for the following page. With `ids` ' +
      '(at most 500, alone): those stores by code, unknown ids left out (names for the rows a screen shows).',
  })
  @Answer('StorePage')
  async stores(@Query() query: StoresQuery, @CurrentClaims() claims: TokenClaims): Promise<StorePage> {
    const keys = await this.models.keys();
    const scope = storesInScope(claims);
    if (query.ids !== undefined) {
      const { ids, ...rest } = query;
      const others = Object.entries(rest).filter(([, value]) => value !== undefined);
      if (others.length > 0) {
        throw new BadRequestException({
          message: 'invalid request: ids',
          fields: { ids: [`ids lists stores by id; it does not combine with ${others.map(([k]) => k).join(', ')}`] },
        });
      }
      const wanted = scope ? ids.filter((storeId) => scope.includes(storeId)) : ids;
      const rows = [...(await storeRows(this.models.redis, keys, [...new Set(wanted)])).values()];
      return { items: rows.sort((a, b) => a.code.localeCompare(b.code) || a.id.localeCompare(b.id)) };
    }
    if (scope) {
      const rows = [...(await storeRows(this.models.redis, keys, scope)).values()].filter(
        (s) =>
          (!query.regionId || s.regionId === query.regionId) &&
          (!query.tag || s.tags.includes(query.tag)) &&
          (!query.q || matchesSearch(s, query.q)),
      );
      return { items: query.cursor ? [] : rows };
    }
    return await queryStores(this.models.redis, keys, { ...query, limit: query.limit ?? 100 });
  }

  @Get('audience/count')
  @Roles(...HQ_READERS, 'agency')
  @ApiOperation({
    summary: 'How many stores and terminals an audience reaches',
    description:
      'The union of `all`, `regionIds`, `storeIds` and `tags` (comma-separated), as the feed planner targets ' +
      'stores; terminals are the enrolled terminals of these stores that show it (with `roles`, those serving one).',
  })
  @Answer('AudienceCount')
  async audienceCount(@Query() query: AudienceCountQuery): Promise<AudienceCount> {
    return countAudience(
      this.models.redis,
      await this.models.keys(),
      {
        all: query.all === 'true',
        regionIds: query.regionIds,
        storeIds: query.storeIds,
        tags: query.tags,
        roles: query.roles,
      },
      { locales: query.locales === 'true' },
    );
  }

  @Get('stores/:id')
  @Roles(...HQ_READERS, ...STORE_READERS)
  @Answer('StoreView')
  async store(@Param('id', id) storeId: string, @CurrentClaims() claims: TokenClaims): Promise<StoreView> {
    requireStore(claims, storeId);
    const store = await getStore(this.models.redis, await this.models.keys(), storeId);
    if (!store) throw new NotFoundException('no such store');
    return store;
  }

  @Get('regions')
  @Roles(...HQ_READERS, 'agency')
  @Answer('RegionList')
  async regions(): Promise<RegionList> {
    return { items: await listRegions(this.models.redis, await this.models.keys()) };
  }

  @Get('terminals')
  @Roles(...HQ_READERS, 'store-manager', 'agency')
  @ApiOperation({
    summary: 'Terminals by store, a page at a time, optionally of one store (a store manager sees their own store)',
    description:
      'Pages of `limit` (default 100, at most 500); `next` is the cursor for the following page. With `storeIds` ' +
      '(at most 100, alone): every terminal of those stores, unpaged.',
  })
  @Answer('TerminalPage')
  async terminals(@Query() query: TerminalsQuery, @CurrentClaims() claims: TokenClaims): Promise<TerminalPage> {
    if (query.storeIds !== undefined) {
      if (query.storeId !== undefined || query.limit !== undefined || query.cursor !== undefined) {
        throw new BadRequestException({
          message: 'invalid request: storeIds',
          fields: {
            storeIds: [
              'storeIds lists every terminal of those stores; it does not combine with storeId, limit or cursor',
            ],
          },
        });
      }
      const keys = await this.models.keys();
      const scope = storesInScope(claims);
      const stores = [...new Set(scope ? query.storeIds.filter((s) => scope.includes(s)) : query.storeIds)];
      const pages = await Promise.all(
        stores.map((storeId) => queryTerminals(this.models.redis, keys, { storeId, limit: 500 })),
      );
      return { items: pages.flatMap((page) => page.items) };
    }
    const scope = storesInScope(claims, query.storeId);
    return await queryTerminals(this.models.redis, await this.models.keys(), {
      storeId: scope?.[0],
      limit: query.limit ?? 100,
      cursor: query.cursor,
    });
  }

  @Get('users')
  @Roles('hq-admin')
  @ApiOperation({ summary: 'Users: username, role, store, disabled (never a credential)' })
  @Answer('UserList')
  async users(): Promise<UserList> {
    const users = await listUsers(this.models.redis, await this.models.keys());
    return { items: users.map(({ sessionVersion: _version, ...user }) => user) };
  }
}
