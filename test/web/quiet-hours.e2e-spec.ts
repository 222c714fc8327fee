import type { Browser } from 'playwright-core';
import type { OpeningHours } from '@lastmeter/contracts';
import { startAppsForBrowser, stopApps, type AppName, type RunningApp } from '../support/apps';
import { launchChromium, screenshot, watchConsole } from '../support/browser';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 22, item 3: outside a store's opening hours (in its time zone) urgent items reach
 * the tablet without a banner; critical ones always interrupt. When the store is open,
 * urgent ones interrupt again.
 */
const ns = testNamespace('quiet-hours');
let apps: Partial<Record<AppName, RunningApp>> = {};
let api: Publisher;
let browser: Browser;
let consoleWatch: ReturnType<typeof watchConsole>;

/** Yesterday, today and tomorrow (UTC) all with the same hours: the test never runs across a change. */
function everyDayAround(span: [string, string] | null): OpeningHours {
  const day = 86_400_000;
  const dates = [-1, 0, 1].map((offset) => new Date(Date.now() + offset * day).toISOString().slice(0, 10));
  return { exceptions: Object.fromEntries(dates.map((date) => [date, span])) };
}

beforeAll(async () => {
  apps = await startAppsForBrowser(ns.env);
  api = new Publisher(apps.command!.url, ns);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

afterEach(() => expect(consoleWatch?.errors() ?? []).toEqual([]));

it('closed: an urgent item comes without a banner, a critical one with it; open: urgent interrupts again', async () => {
  const store = await api.store('QH1', await api.region('quiet'), {
    timezone: 'UTC',
    openingHours: everyDayAround(null),
  });
  const registered = await api.send('post', '/v1/terminals', { storeId: store, name: 'Till' }, 'hq-admin');
  const code = (registered as unknown as { enrollmentCode: string }).enrollmentCode;
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const page = await context.newPage();
  consoleWatch = watchConsole(page, 'tablet');
  await page.goto(`${apps.gateway!.url}/store/`);
  await page.getByLabel('Enrollment code').fill(code);
  await page.getByRole('button', { name: 'Enroll tablet' }).click();
  await page.locator('[data-connection="online"]').waitFor();
  await page.getByTestId('quiet-hours').waitFor();

  await api.publish({ title: 'Shelf audit tonight', priority: 'urgent', audience: { storeIds: [store] } });
  await page.getByRole('button', { name: 'Open Shelf audit tonight' }).waitFor();
  expect(await page.locator('.urgent-banner').count()).toBe(0);

  await api.publish({ title: 'Evacuate: gas leak', priority: 'critical', audience: { storeIds: [store] } });
  const banner = page.locator('.urgent-banner');
  await banner.getByRole('button', { name: 'Evacuate: gas leak' }).waitFor();
  expect(await banner.getByRole('button', { name: 'Shelf audit tonight' }).count()).toBe(0);
  expect(await banner.locator('strong').textContent()).toBe('Critical');
  await screenshot(page, 'tablet-quiet-hours');

  // Head office opens the store all day; the tablet reads its hours again (on reload here).
  const allDay = everyDayAround(['00:00', '24:00']);
  await api.updateStore(store, { openingHours: allDay });
  // The tablet reads them from the read side: once projected.
  await eventually(async () => {
    const response = await fetch(`${apps.gateway!.url}/v1/stores/${store}`, {
      headers: bearer(api.token('hq-admin')),
    });
    const { openingHours } = (await response.json()) as { openingHours?: OpeningHours };
    expect(openingHours?.exceptions).toEqual(allDay.exceptions);
  });
  await page.reload();
  await banner.getByRole('button', { name: 'Shelf audit tonight' }).waitFor();
  await banner.getByRole('button', { name: 'Evacuate: gas leak' }).waitFor();
  expect(await page.getByTestId('quiet-hours').count()).toBe(0);
  await screenshot(page, 'tablet-open-hours');
  await context.close();
});
