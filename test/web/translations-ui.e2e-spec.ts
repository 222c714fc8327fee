import type { Browser } from 'playwright-core';
import request from 'supertest';
import { startAppsForBrowser, stopApps, type AppName, type RunningApp } from '../support/apps';
import { launchChromium, screenshot, watchConsole } from '../support/browser';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 22, item 4, in Chromium: head office composes once, sees before publishing which
 * targeted store locales lack a translation, adds one, publishes; a tablet of a fr-BE
 * store shows the French text, one of a de-DE store (no translation) the default; the
 * reach board breaks down by language.
 */
const ns = testNamespace('translations-ui');
let apps: Partial<Record<AppName, RunningApp>> = {};
let api: Publisher;
let browser: Browser;
const watches: Array<ReturnType<typeof watchConsole>> = [];

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

afterEach(() => {
  for (const watch of watches) expect(watch.errors()).toEqual([]);
});

it('warns of missing translations before publishing, and each tablet shows its language', async () => {
  const region = await api.region('benelux');
  const brussels = await api.store('BRU', region, { locale: 'fr-BE' });
  await api.store('LIE', region, { locale: 'fr-BE' });
  await api.store('MAD', region, { locale: 'es-ES' });
  const berlin = await api.store('BER', region, { locale: 'de-DE' });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });

  const hq = await context.newPage();
  watches.push(watchConsole(hq, 'hq'));
  await hq.goto(`${apps.gateway!.url}/`);
  await hq.getByLabel('Username').fill('admin');
  await hq.getByLabel('Password').fill(ns.env.LASTMETER_ADMIN_PASSWORD!);
  await hq.getByRole('button', { name: 'Sign in' }).click();
  await hq.getByRole('button', { name: 'Sign out' }).waitFor();
  await hq.getByRole('tab', { name: /Compose/ }).click();
  await hq.getByLabel('Title', { exact: true }).fill('New price labels');
  await hq.getByLabel('Message', { exact: true }).fill('Replace the labels in aisle 3.');
  await hq.getByLabel('Delivery').selectOption('now');
  await hq.getByRole('group', { name: 'Regions' }).getByLabel('benelux').check();

  const warnings = hq.getByTestId('translation-warnings');
  await warnings.getByText('fr-BE missing for 2 targeted stores').waitFor();
  expect(await warnings.locator('div').allTextContents()).toEqual([
    'de-DE missing for 1 targeted store',
    'es-ES missing for 1 targeted store',
    'fr-BE missing for 2 targeted stores',
  ]);

  await hq.getByLabel('Add a language').fill('fr-BE');
  await hq.getByRole('button', { name: 'Add translation' }).click();
  await hq.getByLabel('Title (fr-BE)').fill('Nouvelles étiquettes de prix');
  await hq.getByLabel('Message (fr-BE)').fill('Remplacez les étiquettes de l’allée 3.');
  await eventually(async () =>
    expect(await warnings.locator('div').allTextContents()).toEqual([
      'de-DE missing for 1 targeted store',
      'es-ES missing for 1 targeted store',
    ]),
  );
  await screenshot(hq, 'console-translations');
  await hq.getByRole('button', { name: 'Publish now' }).click();

  const published = await eventually(async () => {
    const page = await request(apps.gateway!.url)
      .get('/v1/communications')
      .set(bearer(api.token('hq-admin')));
    const item = (page.body.items as Array<{ id: string; title: string; status: string }>).find(
      (c) => c.title === 'New price labels' && c.status === 'published',
    );
    expect(item).toBeDefined();
    return item!;
  });

  // A tablet of a fr-BE store shows the French text; one of the de-DE store the default.
  for (const [store, title] of [
    [brussels, 'Nouvelles étiquettes de prix'],
    [berlin, 'New price labels'],
  ] as const) {
    const registered = await api.send('post', '/v1/terminals', { storeId: store, name: 'Till' }, 'hq-admin');
    const tabletContext = await browser.newContext({ viewport: { width: 1024, height: 700 } });
    const tablet = await tabletContext.newPage();
    watches.push(watchConsole(tablet, `tablet-${store}`));
    await tablet.goto(`${apps.gateway!.url}/store/`);
    await tablet
      .getByLabel('Enrollment code')
      .fill((registered as unknown as { enrollmentCode: string }).enrollmentCode);
    await tablet.getByRole('button', { name: 'Enroll tablet' }).click();
    await tablet.getByRole('button', { name: `Open ${title}` }).waitFor();
    if (store === brussels) await screenshot(tablet, 'tablet-in-french');
    await tabletContext.close();
  }

  // Reach by language on the board: four locales, each with what it was shown.
  await hq.getByRole('tab', { name: 'Communications' }).click();
  await hq.getByRole('button', { name: 'New price labels' }).first().click();
  const table = hq.getByTestId('reach-by-language');
  await table.getByRole('cell', { name: 'de-DE' }).waitFor();
  const rows = await table
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)));
  expect(rows.sort()).toEqual([
    ['de-DE', 'en', '1'],
    ['es-ES', 'en', '1'],
    ['fr-BE', 'fr-BE', '2'],
  ]);
  expect(published.id).toBeDefined();
  await context.close();
});
