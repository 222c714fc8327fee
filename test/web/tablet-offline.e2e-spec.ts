import request from 'supertest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ReachReport } from '@lastmeter/contracts';
import { startAppsForBrowser, stopApps, type AppName, type RunningApp } from '../support/apps';
import { readTabletStorage } from '../../bench/lib/browser';
import { launchChromium, screenshot, watchConsole } from '../support/browser';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 22, item 6: the tablet is an installable PWA. `/store/manifest.webmanifest`
 * describes it, a service worker precaches it, and after the first load a reload with no
 * network shows the feed and the outbox it had, then resumes when the network returns.
 */
const ns = testNamespace('tablet-offline');
let apps: Partial<Record<AppName, RunningApp>> = {};
let api: Publisher;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let consoleWatch: ReturnType<typeof watchConsole>;
let store: string;

beforeAll(async () => {
  apps = await startAppsForBrowser(ns.env);
  api = new Publisher(apps.command!.url, ns);
  store = await api.store('OFF1', await api.region('offline'));
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

/** What the test reads of the page's `navigator` (the test itself is not compiled against the DOM). */
interface Browserish {
  navigator: { serviceWorker: { ready: Promise<unknown>; controller: { scriptURL: string } | null } };
}

afterEach(() => expect(consoleWatch?.errors() ?? []).toEqual([]));

it('serves a web app manifest for the tablet, scoped to /store/', async () => {
  const response = await request(apps.gateway!.url).get('/store/manifest.webmanifest').expect(200);
  const manifest = JSON.parse(response.text) as Record<string, unknown>;
  expect(manifest).toMatchObject({ start_url: '/store/', scope: '/store/', display: 'standalone' });
  const icons = manifest.icons as Array<{ src: string; sizes: string }>;
  expect(icons.map((icon) => icon.sizes)).toEqual(['192x192', '512x512']);
  for (const icon of icons) {
    const png = await request(apps.gateway!.url).get(icon.src).expect(200);
    expect(png.headers['content-type']).toBe('image/png');
  }
  // The service worker is never cached by HTTP (a deploy is picked up on the next visit).
  const worker = await request(apps.gateway!.url).get('/sw.js').expect(200);
  expect(worker.headers['cache-control']).toBe('no-cache');
});

it('reloads without network with its feed and outbox, and resumes when the network returns', async () => {
  const first = await api.publish({ title: 'Before the outage', audience: { storeIds: [store] } });
  const registered = await api.send('post', '/v1/terminals', { storeId: store, name: 'Till 1' }, 'hq-admin');
  const code = (registered as unknown as { enrollmentCode: string }).enrollmentCode;
  context = await browser.newContext({ viewport: { width: 1024, height: 768 }, serviceWorkers: 'allow' });
  page = await context.newPage();
  consoleWatch = watchConsole(page, 'tablet');
  await page.goto(`${apps.gateway!.url}/store/`);
  await expect(page.locator('link[rel="manifest"]').getAttribute('href')).resolves.toBe('/store/manifest.webmanifest');
  await page.getByLabel('Enrollment code').fill(code);
  await page.getByRole('button', { name: 'Enroll tablet' }).click();
  await page.locator('[data-connection="online"]').waitFor();
  await page.getByRole('button', { name: 'Open Before the outage' }).waitFor();
  // The service worker controls the page once it is active (clientsClaim).
  await page.evaluate(() => (globalThis as unknown as Browserish).navigator.serviceWorker.ready.then(() => undefined));
  await eventually(async () =>
    expect(
      await page.evaluate(() => (globalThis as unknown as Browserish).navigator.serviceWorker.controller?.scriptURL),
    ).toMatch(/\/sw\.js$/),
  );

  // Its "delivered" receipt is recorded before the network goes (under load it can still
  // be in the outbox, which would then hold one more fact than the steps below count).
  await eventually(async () => {
    const response = await request(apps.gateway!.url)
      .get(`/v1/communications/${first}/reach`)
      .set(bearer(api.token('hq-admin')));
    expect((response.body as ReachReport).delivered?.terminals).toBe(1);
  });
  await eventually(async () => expect(await page.getByText(/waiting to send/).count()).toBe(0));

  // The network goes: the tablet says so, and keeps an acknowledgement in its outbox.
  consoleWatch.allowNetworkErrors(true);
  await context.setOffline(true);
  await page.locator('[data-connection="offline"], [data-connection="connecting"]').first().waitFor();
  await page.getByRole('button', { name: 'Open Before the outage' }).click();
  await page.getByText('1 waiting to send').waitFor(); // "read", on opening
  await page.getByRole('button', { name: 'Acknowledge' }).click();
  await page.getByText('2 waiting to send').waitFor();
  // Both are on the device (IndexedDB) at once, not only on screen.
  await eventually(async () =>
    expect((await readTabletStorage<{ outbox: unknown[] }, unknown>(page)).state?.outbox).toHaveLength(2),
  );

  // A reload with no network at all: the page comes from the service worker, the feed
  // and the outbox from IndexedDB.
  await page.reload();
  await page.getByRole('button', { name: 'Open Before the outage' }).waitFor();
  await page.getByText('2 waiting to send').waitFor();
  await page.getByText('Acknowledged', { exact: true }).first().waitFor();
  await screenshot(page, 'tablet-offline-reload');

  // Meanwhile head office publishes again; the network returns; the tablet resumes.
  await api.publish({ title: 'During the outage', audience: { storeIds: [store] } });
  await context.setOffline(false);
  await page.locator('[data-connection="online"]').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Open During the outage' }).waitFor();
  await eventually(async () => expect(await page.getByText('waiting to send').count()).toBe(0));
  consoleWatch.allowNetworkErrors(false);
  const reach = await eventually(async () => {
    const response = await request(apps.gateway!.url)
      .get(`/v1/communications/${first}/reach`)
      .set(bearer(api.token('hq-admin')))
      .expect(200);
    const report = response.body as ReachReport;
    expect(report.acknowledged.terminals).toBe(1);
    return report;
  });
  expect(reach.delivered.terminals).toBe(1);
  expect(reach.read.terminals).toBe(1);
  await screenshot(page, 'tablet-offline-resumed');
  await context.close();
});
