import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { startAppsForBrowser, stopApps, type AppName, type RunningApp } from '../support/apps';
import { launchChromium, screenshot, watchConsole } from '../support/browser';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { everyDay, movableClock } from '../support/clock';
import { eventually } from '../support/eventually';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 22, items 2 and 5, in Chromium: the tablet shows a store's daily brief as one card
 * with its items, a "brief read" receipt and an acknowledgement per item; the break-room
 * screen shows today's brief beside a live urgent notice, and takes no input. The command
 * service's clock and the browser's are moved together, to the store's opening.
 */
const clock = movableClock('brief-ui');
const ns = testNamespace('brief-ui', { LASTMETER_CLOCK_FILE: clock.file });
let apps: Partial<Record<AppName, RunningApp>> = {};
let api: Publisher;
let browser: Browser;
let context: BrowserContext;
const watches: Array<ReturnType<typeof watchConsole>> = [];

/** Moves the command service's clock to `iso`, and the browser's with it. */
async function setClock(iso: string): Promise<void> {
  clock.set(iso);
  await context?.clock.setSystemTime(new Date(iso));
}

beforeAll(async () => {
  // Wednesday 2 December 2026, 07:00 in Paris: the store opens at 09:00 (08:00 UTC).
  await setClock('2026-12-02T06:00:00Z');
  apps = await startAppsForBrowser(ns.env);
  api = new Publisher(apps.command!.url, ns);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1024, height: 800 } });
  await context.clock.install({ time: new Date('2026-12-02T06:00:00Z') });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

afterEach(() => {
  for (const watch of watches) expect(watch.errors()).toEqual([]);
});

async function enroll(page: Page, path: string, code: string, action: string): Promise<void> {
  await page.goto(`${apps.gateway!.url}${path}`);
  await page.getByLabel('Enrollment code').fill(code);
  await page.getByRole('button', { name: action }).click();
  await page.locator('[data-connection="online"]').waitFor();
}

async function registered(store: string, kind?: 'screen'): Promise<string> {
  const body = { storeId: store, name: kind ? 'Break room' : 'Till', ...(kind ? { kind } : {}) };
  const answer = await api.send('post', '/v1/terminals', body, 'hq-admin');
  return (answer as unknown as { enrollmentCode: string }).enrollmentCode;
}

async function reach(id: string): Promise<{ read: number; acknowledged: number }> {
  const response = await request(apps.gateway!.url)
    .get(`/v1/communications/${id}/reach`)
    .set(bearer(api.token('hq-admin')))
    .expect(200);
  return { read: response.body.read.terminals, acknowledged: response.body.acknowledged.terminals };
}

it('shows the brief as one card at the store’s opening, with "brief read" and per-item acknowledgements; the screen shows it beside an urgent notice', async () => {
  const store = await api.store('BRIEF', await api.region('brief-ui'), {
    timezone: 'Europe/Paris',
    openingHours: everyDay('09:00', '19:00'),
  });
  const [tabletCode, screenCode] = [await registered(store), await registered(store, 'screen')];
  const audience = { storeIds: [store] };
  const planogram = await api.publish({ title: 'Planogram week 49', audience, delivery: 'next-brief' });
  const rota = await api.publish({ title: 'Christmas rota', audience, delivery: 'next-brief' });
  await api.publish({ title: 'Welcome Ana, our new manager', audience });

  const tablet = await context.newPage();
  watches.push(watchConsole(tablet, 'tablet'));
  await enroll(tablet, '/store/', tabletCode, 'Enroll tablet');
  await tablet.getByRole('button', { name: 'Open Welcome Ana, our new manager' }).waitFor();
  expect(await tablet.getByTestId('brief').count()).toBe(0);

  // 09:00 in Paris: the brief arrives as one card holding both items, in the order they were written.
  await setClock('2026-12-02T08:00:05Z');
  const brief = tablet.getByTestId('brief');
  await brief.getByRole('button', { name: 'Open Christmas rota' }).waitFor({ timeout: 30_000 });
  expect(await brief.getByRole('heading').textContent()).toMatch(/Wednesday.*2.*December|December.*2/);
  expect(await brief.locator('.brief-item-title').allTextContents()).toEqual(['Planogram week 49', 'Christmas rota']);
  expect(await tablet.getByTestId('brief').count()).toBe(1);
  await screenshot(tablet, 'tablet-daily-brief');

  await brief.getByRole('button', { name: 'Mark brief read' }).click();
  await brief.getByText('Brief read').waitFor();
  await eventually(async () => {
    expect(await reach(planogram)).toEqual({ read: 1, acknowledged: 0 });
    expect(await reach(rota)).toEqual({ read: 1, acknowledged: 0 });
  });
  await brief.getByRole('button', { name: 'Acknowledge Planogram week 49' }).click();
  await eventually(async () => expect((await reach(planogram)).acknowledged).toBe(1));
  expect((await reach(rota)).acknowledged).toBe(0);

  // The break-room screen: today's brief, and an urgent notice pinned above it; nothing to press.
  const screen = await context.newPage();
  watches.push(watchConsole(screen, 'screen'));
  await enroll(screen, '/store/screen/', screenCode, 'Enroll screen');
  await api.publish({ title: 'Fire drill at 11', priority: 'urgent', audience });
  await screen.getByRole('alert', { name: 'Urgent' }).getByRole('heading', { name: 'Fire drill at 11' }).waitFor();
  const today = screen.getByTestId('screen-brief');
  await today.getByText('Planogram week 49').waitFor();
  expect(await today.locator('li').allTextContents()).toEqual(['Planogram week 49', 'Christmas rota']);
  expect(await screen.getByRole('button').count()).toBe(0);
  expect(await screen.locator('input, textarea, select').count()).toBe(0);
  await screenshot(screen, 'break-room-screen-brief');
});
