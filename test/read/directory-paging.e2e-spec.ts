import request from 'supertest';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { bearer, Publisher } from '../support/write-api';

/**
 * The console at scale (issue 16 item 5): the directory, boards and reach a page at a
 * time from the directory index, search by code, name, region and tag, and the audience
 * count checked against who actually got the feed entry.
 */
const ns = testNamespace('directory-paging');
let apps: Record<AppName, RunningApp>;
let api: Publisher;

interface StoreRow {
  id: string;
  code: string;
  name: string;
  regionId: string;
  tags: string[];
}
interface Page<T> {
  items: T[];
  next?: string;
}

/** The imported directory: 3 regions, 150 stores (every 5th a flagship, every 7th "mall"), some terminals. */
const REGIONS = ['north', 'south', 'east'];
const STORES = Array.from({ length: 150 }, (_, i) => {
  const region = REGIONS[i % 3];
  const tags = [...(i % 5 === 0 ? ['flagship'] : []), ...(i % 7 === 0 ? ['mall'] : [])];
  const town = ['Lyon', 'Paris', 'Nantes'][i % 3];
  return { code: `ST-${String(i).padStart(3, '0')}`, name: `${town} Shop ${i}`, region, tags };
});
/** Enrolled terminals: [store code, roles]. */
const TERMINALS: Array<[string, string[]]> = [
  ['ST-000', ['cashier']],
  ['ST-001', []],
  ['ST-005', ['sales']],
  ['ST-010', ['cashier', 'sales']],
  ['ST-010', []],
];
const TERMINAL_STORES = TERMINALS.map(([code]) => code);
let regionId: Record<string, string> = {};
let all: StoreRow[] = [];

const hq = () => bearer(api.token('hq-editor'));
const get = (path: string, headers: Record<string, string> = hq()) => request(apps.gateway.url).get(path).set(headers);

/** Follows `next` from the first page to the last; fails on a duplicate. */
async function stitch<T>(path: string, idOf: (item: T) => string, headers = hq()): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  let next: string | undefined;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const response = await get(`${path}${next ? `${sep}cursor=${next}` : ''}`, headers);
    expect(response.status).toBe(200);
    const page = response.body as Page<T>;
    for (const item of page.items) {
      expect(seen.has(idOf(item))).toBe(false);
      seen.add(idOf(item));
      items.push(item);
    }
    next = page.next;
    expect(++pages).toBeLessThan(200);
  } while (next);
  return items;
}

const codes = (rows: StoreRow[]) => rows.map((s) => s.code);

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
  const csv = [
    'kind,code,name,region,tags,locale,timezone,store,roles',
    ...REGIONS.map((r) => `region,${r},${r},,,,,,`),
    ...STORES.map((s) => `store,${s.code},${s.name},${s.region},${s.tags.join(';')},,,,`),
  ].join('\n');
  const imported = await request(apps.command.url)
    .post('/v1/imports')
    .set(bearer(api.token('hq-admin')))
    .set('content-type', 'text/csv')
    .send(csv);
  expect(imported.status).toBe(200);
  expect(imported.body.refused).toEqual([]);
  // Should the read side never catch up, the failure shows what the import answered.
  const what = `the imported directory (the import answered ${JSON.stringify(imported.body)})`;
  const regions = await eventually(
    async () => {
      const response = await get('/v1/regions');
      expect(response.body.items).toHaveLength(3);
      return response.body.items as Array<{ id: string; code: string }>;
    },
    { what },
  );
  regionId = Object.fromEntries(regions.map((r) => [r.code, r.id]));
  all = await eventually(
    async () => {
      const response = await get('/v1/stores?limit=500');
      expect(response.status).toBe(200);
      expect(response.body.items).toHaveLength(STORES.length);
      return response.body.items as StoreRow[];
    },
    { what },
  );
  const idOf = new Map(all.map((s) => [s.code, s.id]));
  for (const [code, roles] of TERMINALS) await api.terminal(idOf.get(code)!, roles);
  // Every enrolled terminal is counted once the directory index has it.
  await eventually(async () => {
    const response = await get('/v1/audience/count?all=true');
    expect(response.body).toEqual({ stores: STORES.length, terminals: TERMINAL_STORES.length });
  });
});

afterAll(async () => {
  await stopApps(apps);
  await cleanupNamespace(ns);
});

describe('GET /stores, a page at a time', () => {
  it('lists every store once, by code, and pages stitch to exactly the full set', async () => {
    expect(codes(all)).toEqual(STORES.map((s) => s.code));
    expect((await get('/v1/stores')).body.items).toHaveLength(100); // the default page
    for (const limit of [1, 7, 50]) {
      const pages = await stitch<StoreRow>(`/v1/stores?limit=${limit}`, (s) => s.id);
      expect(pages).toEqual(all);
    }
  });

  it('searches by code prefix and by a word of the name, case-insensitively', async () => {
    const byCode = (await get('/v1/stores?q=st-01&limit=500')).body as Page<StoreRow>;
    expect(codes(byCode.items)).toEqual(STORES.map((s) => s.code).filter((c) => c.startsWith('ST-01')));
    const byName = await stitch<StoreRow>('/v1/stores?q=LYO&limit=9', (s) => s.id);
    expect(codes(byName).sort()).toEqual(
      STORES.filter((s) => s.name.startsWith('Lyon'))
        .map((s) => s.code)
        .sort(),
    );
    // "Shop 12" matches by its number word; "12" is also a prefix of 120..129: one row per store.
    const byWord = await stitch<StoreRow>('/v1/stores?q=12&limit=3', (s) => s.id);
    expect(codes(byWord).sort()).toEqual(['ST-012', ...Array.from({ length: 10 }, (_, i) => `ST-12${i}`)].sort());
    expect((await get('/v1/stores?q=nowhere')).body).toEqual({ items: [] });
  });

  it('narrows by region and by tag, alone or with a search, and pages stitch', async () => {
    const north = await stitch<StoreRow>(`/v1/stores?regionId=${regionId.north}&limit=8`, (s) => s.id);
    expect(codes(north)).toEqual(STORES.filter((s) => s.region === 'north').map((s) => s.code));
    const flagships = await stitch<StoreRow>('/v1/stores?tag=flagship&limit=4', (s) => s.id);
    expect(codes(flagships)).toEqual(STORES.filter((s) => s.tags.includes('flagship')).map((s) => s.code));
    const both = await stitch<StoreRow>(`/v1/stores?tag=mall&regionId=${regionId.south}&limit=2`, (s) => s.id);
    expect(codes(both)).toEqual(
      STORES.filter((s) => s.tags.includes('mall') && s.region === 'south').map((s) => s.code),
    );
    const searched = await stitch<StoreRow>(`/v1/stores?q=paris&regionId=${regionId.south}&limit=5`, (s) => s.id);
    expect(codes(searched).sort()).toEqual(
      STORES.filter((s) => s.name.startsWith('Paris') && s.region === 'south')
        .map((s) => s.code)
        .sort(),
    );
  });

  it('follows a store that moves region or is renamed', async () => {
    const store = all.find((s) => s.code === 'ST-149')!;
    const response = await request(apps.command.url)
      .patch(`/v1/stores/${store.id}`)
      .set(bearer(api.token('hq-admin')))
      .send({ regionId: regionId.north, name: 'Brest Harbour' });
    expect(response.status).toBe(200);
    await eventually(async () => {
      expect(codes((await get(`/v1/stores?q=brest`)).body.items)).toEqual(['ST-149']);
    });
    expect(codes((await get(`/v1/stores?q=nantes&limit=500`)).body.items)).not.toContain('ST-149');
    const north = await stitch<StoreRow>(`/v1/stores?regionId=${regionId.north}&limit=500`, (s) => s.id);
    expect(codes(north)).toContain('ST-149');
    const east = await stitch<StoreRow>(`/v1/stores?regionId=${regionId.east}&limit=500`, (s) => s.id);
    expect(codes(east)).not.toContain('ST-149');
    STORES[149].region = 'north';
    STORES[149].name = 'Brest Harbour';
    all = (await get('/v1/stores?limit=500')).body.items as StoreRow[];
  });

  it('pages terminals by store, and those of one store', async () => {
    const terminals = await stitch<{ id: string; storeId: string }>('/v1/terminals?limit=2', (t) => t.id);
    const codeOf = new Map(all.map((s) => [s.id, s.code]));
    expect(terminals.map((t) => codeOf.get(t.storeId)).sort()).toEqual([...TERMINAL_STORES].sort());
    const st010 = all.find((s) => s.code === 'ST-010')!.id;
    const own = await stitch<{ id: string; storeId: string }>(`/v1/terminals?storeId=${st010}&limit=1`, (t) => t.id);
    expect(own.map((t) => t.storeId)).toEqual([st010, st010]);
  });

  it('gives a store manager their own store only', async () => {
    const own = all[3];
    const token = bearer(api.token('store-manager', { storeId: own.id }));
    expect((await get('/v1/stores', token)).body.items.map((s: StoreRow) => s.id)).toEqual([own.id]);
    expect((await get('/v1/stores?q=zzz', token)).body.items).toEqual([]);
  });
});

describe('GET /compliance and /presence, a page at a time', () => {
  it('pages the boards over the directory', async () => {
    const compliance = await stitch<{ storeId: string }>(
      `/v1/compliance?regionId=${regionId.east}&limit=6`,
      (s) => s.storeId,
    );
    const east = all.filter((s) => s.regionId === regionId.east).map((s) => s.id);
    expect(compliance.map((s) => s.storeId).sort()).toEqual(east.sort());
    const presence = await stitch<{ storeId: string }>('/v1/presence?tag=mall&limit=3', (s) => s.storeId);
    expect(presence.map((s) => s.storeId).sort()).toEqual(
      all
        .filter((s) => s.tags.includes('mall'))
        .map((s) => s.id)
        .sort(),
    );
  });
});

describe('GET /audience/count', () => {
  it('counts exactly the stores that then get the feed entry, and their terminals', async () => {
    const extra = all.find((s) => s.code === 'ST-001')!; // south, no tag
    const audience = { regionIds: [regionId.east], tags: ['flagship'], storeIds: [extra.id] };
    const query = `regionIds=${regionId.east}&tags=flagship&storeIds=${extra.id}`;
    const count = (await get(`/v1/audience/count?${query}`)).body as { stores: number; terminals: number };
    const expected = STORES.filter(
      (s) => s.region === 'east' || s.tags.includes('flagship') || s.code === 'ST-001',
    ).map((s) => s.code);
    expect(count.stores).toBe(expected.length);
    expect(count.terminals).toBe(TERMINAL_STORES.filter((c) => expected.includes(c)).length);
    // Repeated parameters are the same as comma-separated ones.
    const repeated = await get(
      `/v1/audience/count?regionIds=${regionId.east}&tags=flagship&tags=flagship&storeIds=${extra.id}`,
    );
    expect(repeated.body).toEqual(count);
    // With roles, only the terminals serving one of them (a shared tablet serves none).
    const cashiers = await get(`/v1/audience/count?${query}&roles=cashier`);
    expect(cashiers.body).toEqual({ stores: count.stores, terminals: 2 });

    const id = await api.publish({ title: 'Counted', audience });
    const reached = await eventually(async () => {
      const reach = (await get(`/v1/communications/${id}/reach`)).body as {
        targeted: number;
        byStore: Array<{ storeId: string; targeted: boolean }>;
      };
      expect(reach.targeted).toBe(count.stores);
      return reach.byStore.filter((s) => s.targeted).map((s) => s.storeId);
    });
    const codeOf = new Map(all.map((s) => [s.id, s.code]));
    expect(reached.map((storeId) => codeOf.get(storeId)).sort()).toEqual(expected.sort());
    // And each of them has it in its feed.
    for (const storeId of reached.slice(0, 5)) {
      const feed = await get(`/v1/stores/${storeId}/feed?limit=500`);
      expect(feed.body.items.map((i: { communication: { id: string } }) => i.communication.id)).toContain(id);
    }
  });

  it('counts every store for all, none for an empty audience, and drops a revoked terminal', async () => {
    expect((await get('/v1/audience/count')).body).toEqual({ stores: 0, terminals: 0 });
    const store = all.find((s) => s.code === 'ST-002')!;
    const { terminalId } = await api.terminal(store.id);
    await eventually(async () =>
      expect((await get(`/v1/audience/count?storeIds=${store.id}`)).body).toEqual({ stores: 1, terminals: 1 }),
    );
    await api.revokeTerminal(terminalId);
    await eventually(async () =>
      expect((await get(`/v1/audience/count?storeIds=${store.id}`)).body).toEqual({ stores: 1, terminals: 0 }),
    );
    expect((await get('/v1/audience/count?all=true')).body).toEqual({
      stores: STORES.length,
      terminals: TERMINAL_STORES.length,
    });
  });
});

describe('GET /communications/:id/reach by region', () => {
  it('gives regions without store rows, then the stores of one region a page at a time', async () => {
    const id = await api.publish({ title: 'Everyone', audience: { all: true } });
    const perRegion = (code: string) => STORES.filter((s) => s.region === code).length;
    // The per-region counters follow the targeted set in the same pipeline: await both.
    const byRegion = await eventually(async () => {
      const response = await get(`/v1/communications/${id}/reach?by=region`);
      expect(response.status).toBe(200);
      expect(response.body.targeted).toBe(STORES.length);
      expect(response.body.byRegion).toEqual(
        expect.arrayContaining(
          REGIONS.map((r) => expect.objectContaining({ regionId: regionId[r], targeted: perRegion(r) })),
        ),
      );
      return response.body as { byStore?: unknown; byRegion: Array<{ regionId: string; targeted: number }> };
    });
    expect(byRegion.byStore).toBeUndefined();
    const north = await stitch<{ storeId: string; code: string; targeted: boolean }>(
      `/v1/communications/${id}/reach?regionId=${regionId.north}&limit=7`,
      (s) => s.storeId,
    );
    expect(north.map((s) => s.code)).toEqual(STORES.filter((s) => s.region === 'north').map((s) => s.code));
    expect(north.every((s) => s.targeted)).toBe(true);
  });
});

describe('bad queries and roles', () => {
  it.each([
    ['/v1/stores?limit=0', 'limit'],
    ['/v1/stores?limit=501', 'limit'],
    ['/v1/stores?limit=ten', 'limit'],
    ['/v1/stores?regionId=north', 'regionId'],
    ['/v1/stores?cursor=$$$', 'cursor'],
    ['/v1/stores?cursor=abc', 'cursor'],
    ['/v1/stores?q=', 'q'],
    ['/v1/stores?colour=red', 'colour'],
    ['/v1/terminals?limit=0', 'limit'],
    ['/v1/terminals?cursor=abc', 'cursor'],
    ['/v1/compliance?limit=-1', 'limit'],
    ['/v1/presence?regionId=1', 'regionId'],
    ['/v1/audience/count?all=yes', 'all'],
    ['/v1/audience/count?regionIds=a,b', 'regionIds'],
    ['/v1/audience/count?storeIds=x', 'storeIds'],
    ['/v1/communications/00000000-0000-4000-8000-000000000000/reach?by=store', 'by'],
    ['/v1/communications/00000000-0000-4000-8000-000000000000/reach?regionId=x', 'regionId'],
    ['/v1/communications/00000000-0000-4000-8000-000000000000/reach?limit=5', 'regionId'],
  ])('%s is a 400 naming %s', async (path, field) => {
    const response = await get(path);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(Object.keys(response.body.fields ?? {})).toContain(field);
  });

  it.each([
    ['/v1/stores?q=st', 'terminal', 403],
    ['/v1/audience/count?all=true', 'store-manager', 403],
    ['/v1/audience/count?all=true', 'terminal', 403],
    ['/v1/compliance?limit=5', 'agency', 403],
    ['/v1/presence?limit=5', 'agency', 403],
    ['/v1/communications/00000000-0000-4000-8000-000000000000/reach?by=region', 'agency', 403],
  ] as const)('%s as %s is a %s', async (path, role, status) => {
    const storeId = all[0].id;
    const token = bearer(api.token(role, role === 'terminal' || role === 'store-manager' ? { storeId } : undefined));
    expect((await get(path, token)).status).toBe(status);
  });

  it('asks for a token on every new route', async () => {
    for (const path of ['/v1/stores?q=st', '/v1/audience/count?all=true', '/v1/compliance?limit=1']) {
      expect((await get(path, {})).status).toBe(401);
    }
  });

  it('lets agency count and search what it composes for', async () => {
    const agency = bearer(api.token('agency'));
    expect((await get('/v1/audience/count?all=true', agency)).status).toBe(200);
    expect((await get('/v1/stores?q=st-00', agency)).body.items).toHaveLength(10);
  });
});
