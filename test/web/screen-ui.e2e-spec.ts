import type { Browser } from 'playwright-core';
import { startAppsForBrowser, stopApps, type AppName, type RunningApp } from '../support/apps';
import { launchChromium, screenshot, watchConsole } from '../support/browser';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { Publisher } from '../support/write-api';

/**
 * Issue 22, item 5, on a TV: `/store/screen/` enrolls with a screen's code, pins urgent
 * notices in large type, rotates through the other live items, has no actions, and
 * recovers from a network loss by itself.
 */
const ns = testNamespace('screen-ui');
let apps: Partial<Record<AppName, RunningApp>> = {};
let api: Publisher;
let browser: Browser;
let consoleWatch: ReturnType<typeof watchConsole>;

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

it('shows urgent notices pinned and rotates the rest, without actions, and recovers from a network loss', async () => {
  const store = await api.store('SCRUI', await api.region('screen-ui'));
  for (const title of ['Team lunch Friday', 'New uniforms arrived']) {
    await api.publish({ title, audience: { storeIds: [store] } });
  }
  await api.publish({ title: 'Fire drill at 11', priority: 'urgent', audience: { storeIds: [store] } });
  const registered = await api.send(
    'post',
    '/v1/terminals',
    { storeId: store, name: 'TV', kind: 'screen' },
    'hq-admin',
  );
  const code = (registered as unknown as { enrollmentCode: string }).enrollmentCode;

  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  consoleWatch = watchConsole(page, 'screen');
  await page.goto(`${apps.gateway!.url}/store/screen/?rotate=400`);
  await page.getByLabel('Enrollment code').fill(code);
  await page.getByRole('button', { name: 'Enroll screen' }).click();
  await page.locator('[data-connection="online"]').waitFor();

  const pinned = page.getByRole('alert', { name: 'Urgent' });
  await pinned.getByRole('heading', { name: 'Fire drill at 11' }).waitFor();
  // Both other items come round on the one card.
  const card = page.getByTestId('screen-card');
  for (const title of ['Team lunch Friday', 'New uniforms arrived']) {
    await card.getByRole('heading', { name: title }).waitFor();
  }
  expect(await page.getByRole('button').count()).toBe(0);
  await screenshot(page, 'break-room-screen');

  // The network goes and comes back: the screen reconnects by itself and shows what came meanwhile.
  consoleWatch.allowNetworkErrors(true);
  await context.setOffline(true);
  await page.locator('[data-connection="offline"]').waitFor();
  await api.publish({ title: 'Store closes early today', priority: 'critical', audience: { storeIds: [store] } });
  await context.setOffline(false);
  await page.locator('[data-connection="online"]').waitFor({ timeout: 60_000 });
  await pinned.getByRole('heading', { name: 'Store closes early today' }).waitFor();
  consoleWatch.allowNetworkErrors(false);
  await context.close();
});
