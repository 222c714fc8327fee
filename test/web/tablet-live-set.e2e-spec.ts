import request from 'supertest';
import type { Browser, Page } from 'playwright-core';
import { topicNames, type DomainEvent, type FeedPage } from '@lastmeter/contracts';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { launchChromium, screenshot, watchConsole } from '../support/browser';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 16, item 8, on the tablet (web/src/store): a tablet enrolled in a store with a
 * history shows what is live, sends "delivered" for that only, follows live items, and
 * shows the history under "Earlier items" on demand.
 */
const ns = testNamespace('tablet-live');
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let browser: Browser;
let page: Page;
let consoleWatch: ReturnType<typeof watchConsole>;
let store: string;
let terminalId: string;
const live: string[] = [];
const gone: string[] = [];
let entries = 0;

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
  store = await api.store('T1', await api.region('tablets'));
  for (let i = 0; i < 40; i++) {
    const title = `Notice ${String(i).padStart(2, '0')}`;
    await api.publish({ title, audience: { storeIds: [store] } });
    (i % 3 === 0 ? gone : live).push(title);
  }
  entries = 40;
  // Retract every third notice: their ids by title from the read API.
  const feed = await feedPage();
  for (const item of feed.items) {
    if ('communication' in item && gone.includes(item.communication.title)) {
      await api.retract(item.communication.id);
      entries++;
    }
  }
  await eventually(async () => expect((await feedPage()).headSeq).toBe(entries));
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

afterEach(() => expect(consoleWatch?.errors() ?? []).toEqual([]));

async function feedPage(): Promise<FeedPage> {
  const response = await request(apps.gateway.url)
    .get(`/v1/stores/${store}/feed?after=0&limit=500`)
    .set(bearer(api.token('hq-admin')));
  expect(response.status).toBe(200);
  return response.body as FeedPage;
}

async function feedTitles(): Promise<string[]> {
  const titles = await page.getByTestId('feed').locator('li h3').allTextContents();
  return titles.sort();
}

it('a tablet enrolled in a store with history shows the live set and sends "delivered" for it only', async () => {
  const device = await api.terminal(store);
  terminalId = device.terminalId;
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  // Enrolled: the device token on the device, no cursor yet (what enrollment leaves).
  await context.addInitScript(
    (stored) =>
      (globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }).localStorage.setItem(
        'lastmeter.tablet.v1',
        JSON.stringify(stored),
      ),
    {
      device: { ...device, storeId: store },
      cursor: 0,
      items: {},
      progress: {},
      outbox: [],
      sound: false,
    },
  );
  page = await context.newPage();
  consoleWatch = watchConsole(page, 'tablet');
  await page.goto(`${apps.gateway.url}/store/`);
  await page.locator('[data-connection="online"]').waitFor();
  await eventually(async () => expect(await feedTitles()).toEqual([...live].sort()));
  await page.getByText(`feed position ${entries}`).waitFor();
  await page.getByText(/waiting to send/).waitFor({ state: 'detached' });
  await screenshot(page, 'tablet-live-set');

  // The receipts it sent: one "delivered" per live notice, none for the history.
  const byId = new Map(
    (await feedPage()).items.flatMap((item) =>
      'communication' in item ? [[item.communication.id, item.communication.title] as const] : [],
    ),
  );
  await eventually(async () => {
    const delivered = (await readTopic<DomainEvent>(ns.env.KAFKA_BROKERS!, topics.storeEvents))
      .map(({ value }) => value)
      .filter((event) => event.type === 'receipt.delivered' && event.actor.id === terminalId)
      .map((event) => byId.get((event.data as { communicationId: string }).communicationId));
    expect(delivered.sort()).toEqual([...live].sort());
  });

  // Live items follow.
  await api.publish({ title: 'Fresh notice', audience: { storeIds: [store] } });
  entries++;
  await eventually(async () => expect(await feedTitles()).toEqual([...live, 'Fresh notice'].sort()));
  await page.getByText(`feed position ${entries}`).waitFor();
});

it('shows the history under "Earlier items", a page at a time', async () => {
  const earlier = page.getByTestId('earlier').locator('li');
  await page.getByRole('button', { name: 'Earlier items' }).click();
  await eventually(async () => expect(await earlier.count()).toBe(50));
  await page.getByRole('button', { name: 'Earlier items' }).click();
  await eventually(async () => expect(await earlier.count()).toBe(entries));
  await expect(page.getByRole('button', { name: 'Earlier items' }).count()).resolves.toBe(0);
  const seqs = (await earlier.evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-feed-seq'))))).map(
    Number,
  );
  expect(seqs).toEqual(Array.from({ length: entries }, (_, i) => entries - i));
  const texts = await earlier.allTextContents();
  for (const title of gone) expect(texts.filter((text) => text.startsWith(`${title} · retracted`))).toHaveLength(1);
  await screenshot(page, 'tablet-earlier-items');
  // History only: the feed and the cursor are as they were.
  expect(await feedTitles()).toEqual([...live, 'Fresh notice'].sort());
  await page.getByText(`feed position ${entries}`).waitFor();
});
