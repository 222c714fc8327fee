/**
 * @exclusive It loads the console with thousands of stores and terminals. (test/setup/e2e-environment.ts)
 */
import request from 'supertest';
import type { Browser, Page } from 'playwright-core';
import { startAppsForBrowser, stopApps, type AppName, type RunningApp } from '../support/apps';
import { launchChromium, screenshot, watchConsole } from '../support/browser';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 16, item 5, in Chromium: the console at a few hundred stores (imported) shows one
 * page of the directory on every tab, finds a store that is not on the first page by
 * searching on the server, never asks for the whole directory, and the /console reach push
 * carries regions, not stores.
 */
const ns = testNamespace('console-scale');
const PAGE = 50;
const STORES = 300;
let apps: Partial<Record<AppName, RunningApp>> = {};
let api: Publisher;
let browser: Browser;
let page: Page;
let consoleWatch: ReturnType<typeof watchConsole>;
let needle: string;
let notice: string;
/** Every read the page made, and every `reach` pushed to it. */
const reads: string[] = [];
const reachPushes: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const { command, gateway } = (apps = await startAppsForBrowser(ns.env));
  api = new Publisher(command.url, ns);
  // 300 stores in three regions, by the bulk import; the needle sorts after all of them.
  const csv = [
    'kind,code,name,region,tags,locale,timezone,store,roles',
    'region,north,North,,,,,,',
    'region,south,South,,,,,,',
    'region,east,East,,,,,,',
    ...Array.from(
      { length: STORES },
      (_, i) =>
        `store,cs-${String(i).padStart(3, '0')},Shop ${i},${['north', 'south', 'east'][i % 3]},${i % 2 ? 'mall' : 'city'},,,,`,
    ),
    'store,zz-needle,Needle Corner,east,needle,,,,',
  ].join('\n');
  const imported = await request(command.url)
    .post('/v1/imports')
    .set(bearer(api.token('hq-admin')))
    .set('content-type', 'text/csv')
    .send(csv);
  expect(imported.status).toBe(200);
  expect(imported.body.refused).toEqual([]);
  needle = await eventually(async () => {
    const { body } = await request(gateway.url)
      .get('/v1/stores?q=needle')
      .set(bearer(api.token('hq-admin')));
    expect(body.items).toHaveLength(1);
    const all = await request(gateway.url)
      .get('/v1/stores?q=cs-&limit=500')
      .set(bearer(api.token('hq-admin')));
    expect(all.body.items).toHaveLength(STORES);
    return body.items[0].id as string;
  });
  // A task for the needle (compliance), and a notice for every store (reach).
  await api.publish({
    kind: 'task',
    title: 'Count the safe',
    body: 'Count it twice',
    dueAt: new Date(Date.now() + 86_400_000).toISOString(),
    audience: { storeIds: [needle] },
  });
  notice = await api.publish({ title: 'Everyone, read this', audience: { all: true } });
  await eventually(async () => {
    const { body } = await request(gateway.url)
      .get(`/v1/compliance?storeId=${needle}`)
      .set(bearer(api.token('hq-admin')));
    expect(body.items[0]?.open).toBe(1);
    const reach = await request(gateway.url)
      .get(`/v1/communications/${notice}/reach?by=region`)
      .set(bearer(api.token('hq-admin')));
    expect(reach.body.targeted).toBe(STORES + 1);
  });

  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  page = await context.newPage();
  consoleWatch = watchConsole(page, 'console');
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/v1/')) reads.push(`${url.pathname}${url.search}`);
  });
  page.on('websocket', (socket) =>
    socket.on('framereceived', ({ payload }) => {
      const text = typeof payload === 'string' ? payload : payload.toString('utf8');
      const match = /^4[23]\/console,\d*(.*)$/s.exec(text);
      if (!match) return;
      const message = JSON.parse(match[1]) as unknown[];
      if (message[0] === 'reach') reachPushes.push(message[1] as Record<string, unknown>);
      const ack = message[0] as { reach?: Record<string, unknown> } | undefined;
      if (ack?.reach) reachPushes.push(ack.reach);
    }),
  );
  await page.goto(`${gateway.url}/`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ns.env.LASTMETER_ADMIN_PASSWORD!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

afterEach(async () => {
  const test = (expect.getState().currentTestName ?? 'test').replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
  if (page) await screenshot(page, `console-scale--${test}`).catch(() => undefined);
  expect(consoleWatch?.errors() ?? []).toEqual([]);
});

/** The codes of the stores a table shows, in order. */
const codesIn = (table: ReturnType<Page['getByTestId']>) =>
  table.locator('tbody tr td:first-child .muted').allTextContents();

it('Directory: one page of stores, and a search on the server finds a store that is not on it', async () => {
  await page.getByRole('tab', { name: 'Directory' }).click();
  const stores = page.getByRole('region', { name: 'Stores' });
  const table = stores.getByTestId('store-table');
  const status = stores.getByTestId('store-page');
  await eventually(async () => expect(await status.textContent()).toBe(`Page 1 · ${PAGE} stores · more after`));
  const first = await codesIn(table);
  expect(first).toHaveLength(PAGE);
  expect(first).not.toContain('zz-needle');
  await screenshot(page, 'console-scale-directory');
  await stores.getByLabel('Search stores').fill('needle');
  await eventually(async () => expect(await status.textContent()).toBe('Page 1 · 1 stores'));
  expect(await codesIn(table)).toEqual(['zz-needle']);
  await stores.getByLabel('Search stores').fill('');
  await stores.getByLabel('In region').selectOption({ label: 'East' });
  await eventually(async () => expect(await status.textContent()).toBe(`Page 1 · ${PAGE} stores · more after`));
  await stores.getByRole('button', { name: 'Next page' }).click();
  await eventually(async () => expect(await status.textContent()).toBe(`Page 2 · ${PAGE} stores · more after`));
  await stores.getByRole('button', { name: 'Next page' }).click();
  // East: every third of the 300, and the needle.
  await eventually(async () => expect(await status.textContent()).toBe('Page 3 · 1 stores'));
  expect(await codesIn(table)).toEqual(['zz-needle']);
});

it('Compliance: one page of the directory with its tasks; the search finds the needle and its open task', async () => {
  await page.getByRole('tab', { name: 'Compliance' }).click();
  const board = page.getByRole('region', { name: 'Compliance' });
  const table = board.getByTestId('compliance-table');
  const status = board.getByTestId('compliance-page');
  await eventually(async () => expect(await status.textContent()).toBe(`Page 1 · ${PAGE} stores · more after`));
  expect(await table.locator('tbody tr').count()).toBe(PAGE);
  expect(await codesIn(table)).not.toContain('zz-needle');
  await screenshot(page, 'console-scale-compliance');
  await board.getByLabel('Search stores').fill('needle corner');
  await eventually(async () => expect(await status.textContent()).toBe('Page 1 · 1 stores'));
  const row = table.locator(`tr[data-store-id="${needle}"]`);
  // Store, overdue, open, done.
  expect(await row.locator('td').evaluateAll((cells) => cells.slice(0, 4).map((c) => c.textContent))).toEqual([
    'Needle Corner zz-needle',
    '0',
    '1',
    '0',
  ]);
  await screenshot(page, 'console-scale-compliance-search');
});

it('Presence: one page, and the tag filter finds the needle', async () => {
  await page.getByRole('tab', { name: 'Presence' }).click();
  const board = page.getByRole('region', { name: 'Presence' });
  const table = board.getByTestId('presence-table');
  const status = board.getByTestId('presence-page');
  await eventually(async () => expect(await status.textContent()).toBe(`Page 1 · ${PAGE} stores · more after`));
  expect(await table.locator('tbody tr').count()).toBe(PAGE);
  await board.getByLabel('With tag').fill('needle');
  await eventually(async () => expect(await status.textContent()).toBe('Page 1 · 1 stores'));
  await table.locator(`tr[data-store-id="${needle}"]`).waitFor();
});

it('Reach: the socket pushes regions only; a region opens on one page of its stores', async () => {
  await page.getByRole('tab', { name: 'Communications' }).click();
  await page.getByRole('button', { name: 'Everyone, read this' }).click();
  const board = page.getByTestId('reach-board');
  await eventually(async () => expect(await board.getByTestId('reach-delivered-stores').textContent()).toBe('0'));
  await board.getByRole('button', { name: 'East' }).click();
  const stores = board.getByTestId('reach-region-stores').locator('tbody tr');
  await eventually(async () => expect(await stores.count()).toBe(PAGE));
  await board.getByRole('button', { name: 'Next stores' }).click();
  await eventually(async () => expect(await board.getByText('Page 2').count()).toBe(1));
  await board.getByRole('button', { name: 'Next stores' }).click();
  // East has 101 stores: 50, 50, then the needle.
  await eventually(async () => expect(await stores.count()).toBe(1));
  await board.locator(`tr[data-store-id="${needle}"]`).waitFor();
  await screenshot(page, 'console-scale-reach');
  // The watch ack (and any push) carried counts by region, no per-store rows.
  expect(reachPushes.length).toBeGreaterThan(0);
  for (const reach of reachPushes) {
    expect(reach.byStore).toBeUndefined();
    expect((reach.byRegion as unknown[]).length).toBe(3);
  }
});

it('Compose: the audience picker finds stores on the server and the server counts what it reaches', async () => {
  await page.getByRole('tab', { name: /Compose/ }).click();
  const reach = page.getByTestId('audience-reach');
  await page.getByLabel('Find a store').fill('needle');
  await page.getByRole('group', { name: 'Stores' }).getByLabel('Needle Corner').check();
  await eventually(async () => expect(await reach.textContent()).toBe('Reaches 1 store · 0 terminals'));
  await page.getByRole('group', { name: 'Tags' }).getByLabel('city').check();
  await eventually(async () => expect(await reach.textContent()).toBe('Reaches 151 stores · 0 terminals'));
});

it('names the rows on screen by id, and lists the terminals of a page of stores', async () => {
  const token = bearer(api.token('hq-editor'));
  const { body: page } = await request(apps.gateway!.url).get('/v1/stores?limit=3').set(token).expect(200);
  const ids = (page.items as Array<{ id: string }>).map((s) => s.id);
  const unknown = '00000000-0000-4000-8000-000000000000';
  const { body: named } = await request(apps.gateway!.url)
    .get(`/v1/stores?ids=${[needle, ...ids, unknown].join(',')}`)
    .set(token)
    .expect(200);
  expect((named.items as Array<{ code: string }>).map((s) => s.code)).toEqual([
    'cs-000',
    'cs-001',
    'cs-002',
    'zz-needle',
  ]);
  const mixed = await request(apps.gateway!.url).get(`/v1/stores?ids=${needle}&q=cs`).set(token).expect(400);
  expect(Object.keys(mixed.body.fields)).toEqual(['ids']);
  await request(apps.gateway!.url).get('/v1/stores?ids=not-a-uuid').set(token).expect(400);

  const device = await api.terminal(needle);
  await eventually(async () => {
    const { body } = await request(apps.gateway!.url)
      .get(`/v1/terminals?storeIds=${[needle, ...ids].join(',')}`)
      .set(token)
      .expect(200);
    expect((body.items as Array<{ id: string }>).map((t) => t.id)).toEqual([device.terminalId]);
  });
  await request(apps.gateway!.url).get(`/v1/terminals?storeIds=${needle}&limit=5`).set(token).expect(400);
});

it('never asked for the whole directory', () => {
  const storeReads = reads.filter((url) => /^\/v1\/(stores|compliance|presence|terminals)(\?|$)/.test(url));
  expect(storeReads.length).toBeGreaterThan(0);
  for (const url of storeReads) {
    const query = new URL(url, 'http://x').searchParams;
    // A page of at most 50, or lookups by id.
    const bounded =
      (query.has('limit') && Number(query.get('limit')) <= PAGE) || query.has('ids') || query.has('storeIds');
    expect({ url, bounded }).toEqual({ url, bounded: true });
  }
});
