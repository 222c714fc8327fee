import request from 'supertest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { FeedPage } from '@lastmeter/contracts';
import { startAppsForBrowser, stopApps, type AppName, type RunningApp } from '../support/apps';
import { launchChromium, recordFeedFrames, screenshot, WatchedPages } from '../support/browser';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { TcpProxy } from '../support/tcp-proxy';
import { bearer, Publisher } from '../support/write-api';

/**
 * The three web UIs in a real Chromium against the real stack (Kafka, Redis, the three
 * apps): head office composes and watches reach, tablets receive live and work offline,
 * agency and head office review, the analyst travels in time.
 */
const ns = testNamespace('web-ui');
const PASSWORD = 'a-long-demo-password';
let apps: Partial<Record<AppName, RunningApp>> = {};
let api: Publisher;
let browser: Browser;
let proxy: TcpProxy;
let regionA: string;
let regionB: string;
let storeA: string;
let storeB: string;
const watched = new WatchedPages();

beforeAll(async () => {
  // The pages come from a gateway (and a proxy) on ports picked below, so the write API
  // accepts any origin here; the default (the gateway's own origin) is tested in
  // test/security/output-and-defaults.e2e-spec.ts.
  const { command, gateway } = (apps = await startAppsForBrowser(ns.env));
  api = new Publisher(command.url, ns);
  browser = await launchChromium();
  // Tablet A reaches the gateway through a proxy the test can cut.
  proxy = await TcpProxy.start(gateway.port);
  [regionA, regionB] = await Promise.all([api.region('north'), api.region('south')]);
  [storeA, storeB] = await Promise.all([api.store('lille', regionA), api.store('nice', regionB)]);
  for (const [username, role] of [
    ['editor', 'hq-editor'],
    ['agency', 'agency'],
    ['analyst', 'analyst'],
  ]) {
    const response = await request(command.url)
      .post('/v1/users')
      .set(bearer(api.token('hq-admin')))
      .send({ username, password: PASSWORD, role });
    expect(response.status).toBe(201);
  }
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

afterEach(() => watched.check());

const openPage = (context: BrowserContext, url: string, name: string) => watched.open(context, url, name);

async function signIn(page: Page, username: string) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** A tablet page enrolled the way a store does it: head office's code typed into /store. */
async function enrolledTablet(storeId: string, name: string, baseUrl: string) {
  const registered = await api.send('post', '/v1/terminals', { storeId, name }, 'hq-admin');
  const code = (registered as unknown as { enrollmentCode: string }).enrollmentCode;
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const { page, console } = await openPage(context, `${baseUrl}/store/`, name);
  const frames = recordFeedFrames(page);
  await page.getByLabel('Enrollment code').fill(code);
  await page.getByRole('button', { name: 'Enroll tablet' }).click();
  await page.locator('[data-connection="online"]').waitFor();
  // Set once: still there at the end means the page never reloaded.
  await page.evaluate(() => ((globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true));
  return { page, console, frames };
}

const stillSamePage = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce);

/** The status badge of the communication open in the console. */
function statusOf(page: Page, status: string) {
  return page.getByRole('region', { name: 'Communication' }).getByText(status, { exact: true }).first();
}

function feedItem(page: Page, title: string) {
  return page.getByTestId('feed').locator('li').filter({ hasText: title });
}

/** Titles in the tablet's feed, oldest entry first. */
async function feedTitles(page: Page): Promise<string[]> {
  const items = await page
    .getByTestId('feed')
    .locator('li')
    .evaluateAll((lis) =>
      lis.map((li) => ({
        seq: Number(li.getAttribute('data-feed-seq')),
        title: li.querySelector('h3')?.textContent ?? '',
      })),
    );
  return items.sort((a, b) => a.seq - b.seq).map((item) => item.title);
}

async function compose(
  page: Page,
  fields: { title: string; body: string; urgent?: boolean; regions?: string[]; all?: boolean },
) {
  await page.getByRole('tab', { name: /Compose|Revise/ }).click();
  await page.getByLabel('Title').fill(fields.title);
  await page.getByLabel('Message').fill(fields.body);
  if (fields.urgent) await page.getByLabel('Priority').selectOption('urgent');
  if (fields.all) await page.getByLabel('Every store').check();
  for (const region of fields.regions ?? []) {
    await page.getByRole('group', { name: 'Regions' }).getByLabel(region).check();
  }
}

/** A gap-free, duplicate-free run of feed positions, as the protocol promises. */
function expectGapFree(feedSeqs: number[]) {
  expect(feedSeqs.length).toBeGreaterThan(0);
  expect(feedSeqs).toEqual(feedSeqs.map((_, i) => feedSeqs[0] + i));
}

describe('head office → store tablets', () => {
  let hq: Page;
  let tabletA: Awaited<ReturnType<typeof enrolledTablet>>;
  let tabletB: Awaited<ReturnType<typeof enrolledTablet>>;

  beforeAll(async () => {
    tabletA = await enrolledTablet(storeA, 'tablet-a', proxy.url);
    tabletB = await enrolledTablet(storeB, 'tablet-b', apps.gateway!.url);
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    ({ page: hq } = await openPage(context, `${apps.gateway!.url}/`, 'hq'));
    await signIn(hq, 'editor');
  });

  it('an urgent notice for region A shows live on an A tablet, never on a B tablet', async () => {
    await compose(hq, {
      title: 'Freezer alarm drill',
      body: 'Run the drill at 10:00.',
      urgent: true,
      regions: ['north'],
    });
    // The picker says whom it reaches before anything is sent.
    await eventually(async () =>
      expect(await hq.getByTestId('audience-reach').textContent()).toMatch(/Reaches 1 store · 1 terminal/),
    );
    await screenshot(hq, 'hq-compose-urgent');
    await hq.getByRole('button', { name: 'Publish now' }).click();
    await hq.getByRole('heading', { level: 2, name: 'Freezer alarm drill' }).waitFor();

    await feedItem(tabletA.page, 'Freezer alarm drill').waitFor();
    await tabletA.page.getByRole('alert').filter({ hasText: 'Freezer alarm drill' }).waitFor();
    expect(await stillSamePage(tabletA.page)).toBe(true);
    await screenshot(tabletA.page, 'tablet-a-urgent');

    // Feeds are ordered: once B shows a later notice meant for everyone, it would already
    // have shown the region-A notice if it had been sent to it.
    await compose(hq, { title: 'Opening hours for the holidays', body: 'Open until 20:00.', all: true });
    await hq.getByRole('button', { name: 'Publish now' }).click();
    await feedItem(tabletB.page, 'Opening hours for the holidays').waitFor();
    expect(await feedTitles(tabletB.page)).toEqual(['Opening hours for the holidays']);
    expect(await tabletB.page.getByText('Freezer alarm drill').count()).toBe(0);
    await screenshot(tabletB.page, 'tablet-b-no-region-a');
  });

  it('an acknowledgement on the A tablet moves the reach board live', async () => {
    await hq.getByRole('tab', { name: 'Communications' }).click();
    await hq.getByRole('button', { name: 'Freezer alarm drill' }).click();
    const acknowledged = hq.getByTestId('reach-acknowledged-terminals');
    await eventually(async () => expect(await acknowledged.textContent()).toBe('0'));
    await hq.evaluate(() => ((globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true));

    await tabletA.page.getByRole('button', { name: 'Open Freezer alarm drill' }).click();
    await tabletA.page.getByRole('button', { name: 'Acknowledge' }).click();
    await tabletA.page.getByText('Acknowledged', { exact: true }).first().waitFor();

    await eventually(async () => expect(await acknowledged.textContent()).toBe('1'), {
      what: 'live acknowledged count',
    });
    expect(await hq.getByTestId('reach-read-terminals').textContent()).toBe('1');
    expect(await stillSamePage(hq)).toBe(true);
    await screenshot(hq, 'hq-reach-board-live');
    // A region opens on its stores (a page from GET /v1/communications/:id/reach?regionId=).
    const board = hq.getByTestId('reach-board');
    await board.getByRole('button', { name: 'north' }).click();
    const row = board.getByTestId('reach-region-stores').locator(`tr[data-store-id="${storeA}"]`);
    await eventually(async () => expect(await row.textContent()).toMatch(/^lille lille1110$/));
    await screenshot(hq, 'hq-reach-region-drill-down');
    await tabletA.page.getByRole('button', { name: /Back to the feed/ }).click();
  });

  it('a tablet cut off while head office publishes twice shows both, in order, once, and sends what it queued', async () => {
    tabletA.console.allowNetworkErrors(true);
    proxy.cut();
    await tabletA.page.locator('[data-connection="offline"]').waitFor();
    // Read while offline: the receipt waits on the device.
    await tabletA.page.getByRole('button', { name: 'Open Opening hours for the holidays' }).click();
    await tabletA.page.getByRole('button', { name: 'Acknowledge' }).click();
    await tabletA.page.getByText(/waiting to send/).waitFor();
    await tabletA.page.getByRole('button', { name: /Back to the feed/ }).click();
    await screenshot(tabletA.page, 'tablet-a-offline');

    for (const title of ['Price change: coffee', 'Price change: tea']) {
      await compose(hq, { title, body: 'New shelf labels are in the back office.', regions: ['north'] });
      await hq.getByRole('button', { name: 'Publish now' }).click();
      await hq.getByRole('heading', { level: 2, name: title }).waitFor();
    }

    proxy.restore();
    await tabletA.page.locator('[data-connection="online"]').waitFor({ timeout: 30_000 });
    await feedItem(tabletA.page, 'Price change: tea').waitFor();
    tabletA.console.allowNetworkErrors(false);
    expect(await feedTitles(tabletA.page)).toEqual([
      'Freezer alarm drill',
      'Opening hours for the holidays',
      'Price change: coffee',
      'Price change: tea',
    ]);
    expect(await stillSamePage(tabletA.page)).toBe(true);
    // On the wire: every feed position exactly once, across the cut.
    expectGapFree(tabletA.frames);
    expectGapFree(tabletB.frames);

    // The acknowledgement queued offline arrives once the tablet is back.
    await tabletA.page.getByText(/waiting to send/).waitFor({ state: 'detached' });
    await hq.getByRole('tab', { name: 'Communications' }).click();
    await hq.getByRole('button', { name: 'Opening hours for the holidays' }).click();
    await eventually(async () => expect(await hq.getByTestId('reach-acknowledged-terminals').textContent()).toBe('1'));
    await screenshot(tabletA.page, 'tablet-a-back-online');
  });

  it('the tablet files a report, completes a task with a note and answers a quiz; head office sees each live', async () => {
    await hq.getByRole('tab', { name: 'Field reports' }).click();
    await tabletA.page.getByRole('button', { name: 'File a report' }).click();
    await tabletA.page.getByLabel('Title').fill('Broken freezer door');
    await tabletA.page.getByLabel('What happened').fill('The seal of freezer 3 is torn.');
    await tabletA.page.getByRole('button', { name: 'Send report' }).click();
    await hq.getByRole('region', { name: 'Field reports' }).getByText('Broken freezer door').waitFor();
    await hq.getByText('The seal of freezer 3 is torn.').waitFor();

    const dueAt = new Date(Date.now() + 86_400_000).toISOString();
    await api.publish({
      kind: 'task',
      title: 'Count the returns',
      body: 'Count and note them.',
      audience: { storeIds: [storeA] },
      dueAt,
      evidence: 'note',
    });
    await api.publish({
      kind: 'training',
      title: 'Allergens 101',
      body: 'Read the allergen chart.',
      audience: { storeIds: [storeA] },
      questions: [
        { prompt: 'Where is the allergen chart?', options: ['By the till', 'In the back office'], answer: 1 },
      ],
    });
    await tabletA.page.getByRole('button', { name: 'Open Count the returns' }).click();
    // The task asks for a note: the tablet says so instead of sending an empty one.
    await tabletA.page.getByRole('button', { name: 'Mark as done' }).click();
    await tabletA.page.getByText('This task needs a note.').waitFor();
    await tabletA.page.getByLabel('Note (required)').fill('12 returns, all in the cage.');
    await tabletA.page.getByRole('button', { name: 'Mark as done' }).click();
    await tabletA.page.getByText('Task completed.').waitFor();
    await tabletA.page.getByRole('button', { name: /Back to the feed/ }).click();
    await tabletA.page.getByRole('button', { name: 'Open Allergens 101' }).click();
    await tabletA.page.getByLabel('In the back office').check();
    await tabletA.page.getByRole('button', { name: 'Send answers' }).click();
    await tabletA.page.getByText('Answers sent. Thank you.').waitFor();
    await tabletA.page.getByRole('button', { name: /Back to the feed/ }).click();

    await hq.getByRole('tab', { name: 'Communications' }).click();
    await hq.getByRole('button', { name: 'Count the returns' }).click();
    await eventually(async () => expect(await hq.getByTestId('reach-completed-terminals').textContent()).toBe('1'));
    await hq.getByRole('button', { name: 'Allergens 101' }).click();
    await hq.getByText('Quiz: 1 answers, average 100%').waitFor();
  });
});

it('agency drafts, head office rejects with a reason, agency revises and resubmits, head office approves and publishes', async () => {
  const agencyContext = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const { page: agency } = await openPage(agencyContext, `${apps.gateway!.url}/`, 'agency');
  await signIn(agency, 'agency');
  await compose(agency, { title: 'Spring campaign', body: 'Posters go up on Monday.', all: true });
  await agency.getByRole('button', { name: 'Submit for approval' }).click();
  await agency.getByRole('heading', { level: 2, name: 'Spring campaign' }).waitFor();
  await statusOf(agency, 'submitted').waitFor();

  const hqContext = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const { page: hq } = await openPage(hqContext, `${apps.gateway!.url}/`, 'hq-review');
  await signIn(hq, 'editor');
  await hq.getByRole('tab', { name: /Approvals/ }).click();
  await hq
    .getByRole('row', { name: /Spring campaign/ })
    .getByRole('button', { name: 'Review' })
    .click();
  await hq.getByRole('button', { name: 'Reject…' }).click();
  await hq.getByLabel(/Why/).fill('Say which posters, and where they go.');
  await hq.getByRole('button', { name: 'Reject', exact: true }).click();
  await hq.getByText('Rejected: Say which posters, and where they go.').waitFor();

  await agency.getByRole('tab', { name: 'My drafts' }).click();
  const rejected = agency.getByRole('region', { name: 'Rejected: revise and resubmit' });
  await rejected.getByText('Rejected: Say which posters, and where they go.').waitFor({ timeout: 15_000 });
  await screenshot(agency, 'agency-rejected');
  await rejected.getByRole('button', { name: 'Open' }).click();
  await agency.getByRole('button', { name: 'Revise' }).click();
  await agency.getByLabel('Message').fill('The A2 spring posters go up on Monday, by the entrance.');
  await agency.getByRole('button', { name: 'Save and resubmit' }).click();
  await agency.getByRole('heading', { level: 2, name: 'Spring campaign' }).waitFor();
  await statusOf(agency, 'submitted').waitFor();

  await hq.getByRole('tab', { name: /Approvals/ }).click();
  await hq
    .getByRole('row', { name: /Spring campaign/ })
    .getByRole('button', { name: 'Review' })
    .click();
  await hq.getByText('The A2 spring posters go up on Monday, by the entrance.').first().waitFor();
  await hq.getByRole('button', { name: 'Approve' }).click();
  await hq.getByRole('button', { name: 'Publish…' }).click();
  await hq.getByRole('button', { name: 'Publish now' }).click();
  await hq.getByTestId('reach-board').waitFor();
  await screenshot(hq, 'hq-published-after-review');

  const { body } = await request(apps.gateway!.url)
    .get('/v1/communications?status=published')
    .set(bearer(api.token('hq-editor')));
  const published = (
    body as { items: Array<{ title: string; revision: number; author: { role: string } }> }
  ).items.find((c) => c.title === 'Spring campaign');
  expect(published).toMatchObject({ revision: 2, author: { role: 'agency' } });
});

it('the analyst moves the time-travel slider across a retraction and sees the item appear and disappear', async () => {
  const id = await api.publish({
    title: 'Recall: batch 17',
    body: 'Take batch 17 off the shelves.',
    audience: { storeIds: [storeA] },
  });
  await api.retract(id);
  const entries = await eventually(async () => {
    const { body } = await request(apps.gateway!.url)
      .get(`/v1/stores/${storeA}/feed`)
      .set(bearer(api.token('analyst')));
    const mine = (body as FeedPage).items.filter((item) => 'communication' in item && item.communication.id === id);
    expect(mine.map((item) => ('change' in item ? item.change : ''))).toEqual(['published', 'retracted']);
    return mine as Array<{ at: string }>;
  });
  const published = new Date(entries[0].at).getTime();
  const retracted = new Date(entries[1].at).getTime();

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const { page } = await openPage(context, `${apps.gateway!.url}/analyst/`, 'analyst');
  await signIn(page, 'analyst');
  await page.getByRole('tab', { name: 'Time travel' }).click();
  await page.getByLabel('Store').selectOption({ label: 'lille (lille)' });
  const slider = page.getByRole('slider', { name: 'Instant' });
  await slider.waitFor();
  const feed = page.getByTestId('as-of-feed');
  const showsAt = async (instant: number, shown: boolean) => {
    // What dragging does: the native value setter (React tracks assignments to .value) and an input event.
    await slider.evaluate((input, value) => {
      Object.getOwnPropertyDescriptor(Object.getPrototypeOf(input), 'value')!.set!.call(input, value);
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }, String(instant));
    await eventually(async () => {
      expect(await feed.getAttribute('data-as-of')).toBe(new Date(instant).toISOString());
      expect(await feed.locator(`[data-communication-id="${id}"]`).count()).toBe(shown ? 1 : 0);
    });
  };
  await showsAt(published - 1, false);
  await showsAt(Math.floor((published + retracted) / 2), true);
  await screenshot(page, 'analyst-before-retraction');
  await showsAt(retracted, false);
  await showsAt(retracted + 1, false);
  await showsAt(published, true);
  await screenshot(page, 'analyst-time-travel');
});

it('an hq-admin creates a store manager in the console, then disables them when they leave: their token stops working', async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const { page } = await openPage(context, `${apps.gateway!.url}/#directory`, 'admin-people');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ns.env.LASTMETER_ADMIN_PASSWORD!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.getByRole('tab', { name: 'Directory' }).click();

  const people = page.getByRole('region', { name: 'People' });
  await people.getByLabel('New username').fill('departing');
  await people.getByLabel('Initial password').fill(PASSWORD);
  await people.getByLabel('Role').selectOption('store-manager');
  // The store is found on the server (code or name), then chosen.
  await people.getByLabel('Find their store').fill('lil');
  await people.getByLabel('Their store', { exact: true }).selectOption({ label: 'lille (lille)' });
  await people.getByRole('button', { name: 'Create user' }).click();
  const row = people.locator('tr[data-username="departing"]');
  await row.getByText('active').waitFor();

  const login = await request(apps.command!.url)
    .post('/v1/auth/login')
    .send({ username: 'departing', password: PASSWORD })
    .expect(200);
  const token = login.body.token as string;
  await eventually(() => request(apps.gateway!.url).get(`/v1/stores/${storeA}`).set(bearer(token)).expect(200));

  page.once('dialog', (dialog) => void dialog.accept());
  await row.getByRole('button', { name: 'Disable' }).click();
  await row.getByText('disabled').waitFor();
  await eventually(() => request(apps.gateway!.url).get(`/v1/stores/${storeA}`).set(bearer(token)).expect(401));
  await request(apps.command!.url)
    .post('/v1/auth/login')
    .send({ username: 'departing', password: PASSWORD })
    .expect(403);
});

it('the console pages and searches a large directory on the server, and the audience picker counts on the server', async () => {
  const csv = [
    'kind,code,name,region,tags,locale,timezone,store,roles',
    'region,west,West,,,,,,',
    ...Array.from(
      { length: 120 },
      (_, i) => `store,web-${String(i).padStart(3, '0')},Westfield ${i},west,${i % 2 === 0 ? 'outlet' : ''},,,,`,
    ),
  ].join('\n');
  const imported = await request(apps.command!.url)
    .post('/v1/imports')
    .set(bearer(api.token('hq-admin')))
    .set('content-type', 'text/csv')
    .send(csv);
  expect(imported.body.refused).toEqual([]);
  await eventually(async () => {
    const { body } = await request(apps.gateway!.url)
      .get('/v1/stores?q=web-&limit=500')
      .set(bearer(api.token('hq-editor')));
    expect(body.items).toHaveLength(120);
  });

  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const { page } = await openPage(context, `${apps.gateway!.url}/#directory`, 'admin-directory');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ns.env.LASTMETER_ADMIN_PASSWORD!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.getByRole('tab', { name: 'Directory' }).click();

  const stores = page.getByRole('region', { name: 'Stores' });
  const rows = stores.getByTestId('store-table').locator('tbody tr');
  const status = stores.getByTestId('store-page');
  await eventually(async () => expect(await status.textContent()).toBe('Page 1 · 50 stores · more after'));
  expect(await rows.count()).toBe(50);
  await stores.getByRole('button', { name: 'Next page' }).click();
  await eventually(async () => expect(await status.textContent()).toBe('Page 2 · 50 stores · more after'));
  await stores.getByRole('button', { name: 'Next page' }).click();
  // 122 stores in all: lille, nice and the 120 imported.
  await eventually(async () => expect(await status.textContent()).toBe('Page 3 · 22 stores'));
  await stores.getByLabel('Search stores').fill('WEB-11');
  await eventually(async () => expect(await status.textContent()).toBe('Page 1 · 10 stores'));
  expect(await rows.allTextContents()).toEqual(
    Array.from({ length: 10 }, (_, i) => expect.stringContaining(`web-11${i}`)),
  );
  await stores.getByLabel('Search stores').fill('westfield 7');
  await eventually(async () => expect(await status.textContent()).toBe('Page 1 · 11 stores'));
  await screenshot(page, 'admin-directory-search');

  // Presence pages the same directory: one store found by search, its row from the board.
  await page.getByRole('tab', { name: 'Presence' }).click();
  const presence = page.getByRole('region', { name: 'Presence' });
  await presence.getByText('Page 1 · 50 stores').waitFor();
  await presence.getByLabel('Search stores').fill('lille');
  await presence.getByText('Page 1 · 1 stores').waitFor();
  await presence.locator(`tr[data-store-id="${storeA}"]`).waitFor();
  await screenshot(page, 'admin-presence-search');

  await page.getByRole('tab', { name: /Compose/ }).click();
  const reach = page.getByTestId('audience-reach');
  await eventually(async () => expect(await reach.textContent()).toMatch(/Reaches 0 stores · 0 terminals/));
  await page.getByRole('group', { name: 'Tags' }).getByLabel('outlet').check();
  await eventually(async () => expect(await reach.textContent()).toMatch(/Reaches 60 stores · 0 terminals/));
  // The terminals are the enrolled ones the earlier tests left (the API is the reference here).
  const counted = async (query: string) => {
    const { body } = await request(apps.gateway!.url)
      .get(`/v1/audience/count?${query}`)
      .set(bearer(api.token('hq-editor')));
    return body as { stores: number; terminals: number };
  };
  const terminals = (n: number) => `${n} ${n === 1 ? 'terminal' : 'terminals'}`;
  await page.getByLabel('Find a store').fill('lil');
  await page.getByRole('group', { name: 'Stores' }).getByLabel('lille').check();
  const picked = await counted(`tags=outlet&storeIds=${storeA}`);
  expect(picked.stores).toBe(61);
  await eventually(async () =>
    expect(await reach.textContent()).toBe(`Reaches 61 stores · ${terminals(picked.terminals)}`),
  );
  await screenshot(page, 'admin-audience-picker');
  await page.getByLabel('Every store').check();
  const everyone = await counted('all=true');
  expect(everyone.stores).toBe(122);
  await eventually(async () =>
    expect(await reach.textContent()).toBe(`Reaches 122 stores · ${terminals(everyone.terminals)}`),
  );
  await screenshot(page, 'admin-audience-count');
});
