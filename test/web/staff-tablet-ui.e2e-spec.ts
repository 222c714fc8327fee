import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import type { PeopleReach } from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startAppsForBrowser, stopApps, type AppName, type RunningApp } from '../support/apps';
import { launchChromium, screenshot, watchConsole } from '../support/browser';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 21, items 2 and 7, in Chromium: staff share a store tablet. A person picks their
 * name, enters their PIN on the pad, sees how many items they still have to acknowledge
 * and the items restricted to their roles, and acknowledges as themselves; a wrong PIN
 * says how many tries are left, and 2 minutes without a touch sign them out.
 */
const ns = testNamespace('staff-ui', { SURVEY_BATCH_MS: '500' });
let apps: Partial<Record<AppName, RunningApp>> = {};
let api: Publisher;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const watches: Array<ReturnType<typeof watchConsole>> = [];

beforeAll(async () => {
  apps = await startAppsForBrowser(ns.env);
  api = new Publisher(apps.command!.url, ns);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1024, height: 800 } });
  await context.clock.install();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

afterEach(() => {
  for (const watch of watches) expect(watch.errors()).toEqual([]);
});

async function signIn(name: string, pin: string): Promise<void> {
  await page.getByRole('button', { name: 'Sign in' }).click();
  const dialog = page.getByRole('dialog', { name: 'Who are you?' });
  await dialog.getByRole('button', { name }).click();
  for (const digit of pin) await dialog.getByRole('button', { name: digit, exact: true }).click();
  await dialog.getByRole('button', { name: 'OK' }).click();
}

async function acknowledge(title: string): Promise<void> {
  await page
    .getByRole('button', { name: `Open ${title}` })
    .first()
    .click();
  await page.getByRole('button', { name: 'Acknowledge' }).click();
  await page.getByText('Acknowledged', { exact: true }).first().waitFor();
  await page.getByRole('button', { name: '← Back to the feed' }).click();
}

it('a person signs in with their PIN, sees what is theirs to acknowledge, acknowledges as themselves, and is signed out when idle', async () => {
  const store = await api.store('STAFF-UI', await api.region('staff-ui'));
  const staff = async (name: string, roles: string[], pin: string) =>
    (
      await request(apps.command!.url)
        .post(`/v1/stores/${store}/staff`)
        .set(bearer(api.token('hq-admin')))
        .send({ name, roles, pin })
        .expect(201)
    ).body.id as string;
  const ann = await staff('Ann Cashier', ['cashier'], '1111');
  const bob = await staff('Bob Sales', ['sales'], '2222');
  const code = (
    (await api.send('post', '/v1/terminals', { storeId: store, name: 'Shared till' }, 'hq-admin')) as unknown as {
      enrollmentCode: string;
    }
  ).enrollmentCode;
  const everyone = await api.publish({ title: 'Store closes at 6 on Friday', audience: { storeIds: [store] } });
  const salesOnly = await api.publish({
    title: 'New price matrix for sales staff',
    audience: { storeIds: [store], roles: ['sales'] },
  });

  page = await context.newPage();
  const watch = watchConsole(page, 'tablet');
  watches.push(watch);
  await page.goto(`${apps.gateway!.url}/store/`);
  await page.getByLabel('Enrollment code').fill(code);
  await page.getByRole('button', { name: 'Enroll tablet' }).click();
  await page.locator('[data-connection="online"]').waitFor();
  await page.getByText('Store closes at 6 on Friday').waitFor();
  // A shared tablet does not show what is restricted to a role.
  expect(await page.getByText('New price matrix for sales staff').count()).toBe(0);

  // A wrong PIN says how many tries are left (the browser logs its 401); the right one signs Ann in.
  await signIn('Ann Cashier', '9999');
  await page.getByRole('alert').filter({ hasText: 'Wrong PIN. 4 tries left' }).waitFor();
  await screenshot(page, 'staff-pin-pad');
  expect(watch.errors()).toEqual([expect.stringMatching(/status of 401/)]);
  watch.errors().length = 0;
  const dialog = page.getByRole('dialog', { name: 'Who are you?' });
  for (const digit of '1111') await dialog.getByRole('button', { name: digit, exact: true }).click();
  await dialog.getByRole('button', { name: 'OK' }).click();
  const bar = page.getByTestId('staff-bar');
  await bar.getByText('Ann Cashier').waitFor();
  await page.getByTestId('to-acknowledge').filter({ hasText: 'You have 1 to acknowledge' }).waitFor();
  await screenshot(page, 'staff-signed-in');
  await acknowledge('Store closes at 6 on Friday');
  await page.getByTestId('to-acknowledge').filter({ hasText: 'All acknowledged' }).waitFor();
  await bar.getByRole('button', { name: 'Sign out' }).click();

  // Bob (sales) sees the sales-only item while signed in, and has two to acknowledge.
  await signIn('Bob Sales', '2222');
  await page.getByTestId('to-acknowledge').filter({ hasText: 'You have 2 to acknowledge' }).waitFor();
  await page.getByText('New price matrix for sales staff').waitFor();
  await screenshot(page, 'staff-restricted-item');
  await acknowledge('New price matrix for sales staff');
  await page.getByTestId('to-acknowledge').filter({ hasText: 'You have 1 to acknowledge' }).waitFor();

  // Two minutes without a touch: signed out, and the sales-only item is gone from the screen.
  await context.clock.fastForward('02:01');
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  expect(await page.getByText('New price matrix for sales staff').count()).toBe(0);

  // Head office sees each person's acknowledgement, as them.
  const reach = async (id: string) =>
    (
      await request(apps.gateway!.url)
        .get(`/v1/communications/${id}/reach/people?storeId=${store}`)
        .set(bearer(api.token('hq-editor')))
        .expect(200)
    ).body as PeopleReach;
  await eventually(async () => {
    const all = await reach(everyone);
    expect(all.people?.map((p) => [p.staffId, !!p.acknowledgedAt])).toEqual([
      [ann, true],
      [bob, false],
    ]);
    const sales = await reach(salesOnly);
    expect(sales.overall).toMatchObject({ persons: 1, acknowledged: 1 });
    expect(sales.people?.map((p) => p.name)).toEqual(['Bob Sales']);
  });
});

it('head office manages a store’s roster and drills reach down to each person; a store manager manages their own store’s', async () => {
  const region = await api.region('roster-ui');
  const store = await api.store('ROSTER-UI', region);
  await request(apps.command!.url)
    .post('/v1/users')
    .set(bearer(api.token('hq-admin')))
    .send({ username: 'roster-manager', password: 'roster-manager-1', role: 'store-manager', storeId: store })
    .expect(201);
  const hqContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const hq = await hqContext.newPage();
  const watch = watchConsole(hq, 'console');
  watches.push(watch);
  await hq.goto(`${apps.gateway!.url}/`);
  await hq.getByLabel('Username').fill('admin');
  await hq.getByLabel('Password').fill(ns.env.LASTMETER_ADMIN_PASSWORD!);
  await hq.getByRole('button', { name: 'Sign in' }).click();

  // Head office adds two people to the store; a bad PIN is said next to its field.
  await hq.getByRole('tab', { name: 'Staff' }).click();
  await hq.getByLabel('Find store').fill('ROSTER');
  await hq.getByLabel('Store', { exact: true }).selectOption({ label: 'ROSTER-UI (ROSTER-UI)' });
  const form = hq.getByRole('form', { name: 'Add a person' });
  await form.getByLabel('Name').fill('Chloé Martin');
  await form.getByLabel('PIN').fill('12');
  await form.getByLabel('cashier').check();
  await form.getByRole('button', { name: 'Add' }).click();
  await form.getByText('pin must be 4 to 6 digits').waitFor();
  expect(watch.errors()).toEqual([expect.stringMatching(/status of 400/)]);
  watch.errors().length = 0;
  await form.getByLabel('PIN').fill('4321');
  await form.getByRole('button', { name: 'Add' }).click();
  const roster = hq.getByRole('table', { name: 'Staff' });
  await roster.getByRole('cell', { name: 'Chloé Martin' }).waitFor();
  await form.getByLabel('Name').fill('Noah Petit');
  await form.getByLabel('PIN').fill('8765');
  await form.getByLabel('sales').check();
  await form.getByRole('button', { name: 'Add' }).click();
  await roster.getByRole('cell', { name: 'Noah Petit' }).waitFor();
  const list = (
    await request(apps.gateway!.url)
      .get(`/v1/stores/${store}/staff`)
      .set(bearer(api.token('hq-admin')))
      .expect(200)
  ).body.items as Array<{ id: string; name: string }>;
  const chloe = list.find((p) => p.name === 'Chloé Martin')!.id;

  // Chloé is locked out on a tablet; head office unlocks her from the console.
  const tablet = await api.terminal(store);
  for (let i = 0; i < 5; i++) {
    await request(apps.command!.url)
      .post(`/v1/stores/${store}/staff/${chloe}/sign-in`)
      .set(bearer(tablet.token))
      .send({ pin: '0000' });
  }
  await hq.reload();
  await hq.getByRole('tab', { name: 'Staff' }).click();
  await hq.getByLabel('Find store').fill('ROSTER');
  await hq.getByLabel('Store', { exact: true }).selectOption({ label: 'ROSTER-UI (ROSTER-UI)' });
  const chloeRow = hq.locator(`tr[data-staff-id="${chloe}"]`);
  await chloeRow.getByText('Locked').waitFor();
  await chloeRow.getByRole('button', { name: 'Unlock' }).click();
  await chloeRow.getByText('Active').waitFor();
  const session = (
    await request(apps.command!.url)
      .post(`/v1/stores/${store}/staff/${chloe}/sign-in`)
      .set(bearer(tablet.token))
      .send({ pin: '4321' })
      .expect(200)
  ).body as { token: string };
  await screenshot(hq, 'console-staff');

  // A communication Chloé acknowledges on the tablet: the board drills down to her.
  const id = await api.publish({ title: 'Inventory on Sunday', audience: { storeIds: [store] } });
  const client = new TerminalClient({ url: apps.gateway!.url, token: tablet.token, cursors: new MemoryCursorStore() });
  await client.connect();
  await eventually(async () =>
    expect(
      await client.receipt({ communicationId: id, kind: 'acknowledged', revision: 1, staff: session.token }),
    ).toEqual({
      ok: true,
    }),
  );
  client.close();
  await hq.getByRole('tab', { name: 'Communications' }).click();
  await hq.getByRole('button', { name: 'Inventory on Sunday' }).first().click();
  const people = hq.getByTestId('people-board');
  await people.getByTestId('people-overall').filter({ hasText: '50% acknowledged of 2 people' }).waitFor();
  await people.getByRole('button', { name: 'roster-ui', exact: true }).click();
  await people.getByRole('button', { name: 'ROSTER-UI', exact: true }).click();
  const rows = people.getByTestId('people-of-store').locator('tbody tr');
  await rows.first().waitFor();
  expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector('td')!.textContent!.trim()))).toEqual([
    'Chloé Martin',
    'Noah Petit',
  ]);
  await screenshot(hq, 'console-people-reach');

  // Chloé's personal data is erased: the reach board keeps its counts and shows her as an
  // erased person, the roster lists her so, and her name is on neither page.
  await request(apps.command!.url)
    .delete(`/v1/staff/${chloe}/personal-data`)
    .set(bearer(api.token('hq-admin')))
    .send({})
    .expect(200);
  await hq.reload();
  await hq.getByRole('tab', { name: 'Communications' }).click();
  await hq.getByRole('button', { name: 'Inventory on Sunday' }).first().click();
  await people.getByTestId('people-overall').filter({ hasText: '50% acknowledged of 2 people' }).waitFor();
  await people.getByRole('button', { name: 'roster-ui', exact: true }).click();
  await people.getByRole('button', { name: 'ROSTER-UI', exact: true }).click();
  await rows.first().waitFor();
  expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector('td')!.textContent!.trim()))).toEqual([
    'Erased person',
    'Noah Petit',
  ]);
  expect(await hq.content()).not.toContain('Chloé');
  await screenshot(hq, 'console-people-reach-erased');
  await hq.getByRole('tab', { name: 'Staff' }).click();
  await hq.getByLabel('Find store').fill('ROSTER');
  await hq.getByLabel('Store', { exact: true }).selectOption({ label: 'ROSTER-UI (ROSTER-UI)' });
  await hq.getByLabel('Show people who left and erased people').check();
  await hq.locator(`tr[data-staff-id="${chloe}"]`).getByRole('cell', { name: 'Erased person' }).waitFor();
  expect(await hq.content()).not.toContain('Chloé');
  await hqContext.close();

  // The store manager signs in to the console and manages their own store's staff only.
  const managerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const manager = await managerContext.newPage();
  watches.push(watchConsole(manager, 'manager'));
  await manager.goto(`${apps.gateway!.url}/`);
  await manager.getByLabel('Username').fill('roster-manager');
  await manager.getByLabel('Password').fill('roster-manager-1');
  await manager.getByRole('button', { name: 'Sign in' }).click();
  await manager.getByRole('table', { name: 'Staff' }).getByRole('cell', { name: 'Noah Petit' }).waitFor();
  expect(await manager.getByRole('tab').count()).toBe(0);
  await managerContext.close();
});

it('head office composes a survey; a signed-in person answers it on the tablet; results show from 5 respondents', async () => {
  const region = await api.region('survey-ui');
  const store = await api.store('SURVEY-UI', region);
  const people: Array<{ id: string; name: string }> = [];
  for (const name of ['Ana', 'Ben', 'Cyd', 'Dee', 'Eli']) {
    const { id } = (
      await request(apps.command!.url)
        .post(`/v1/stores/${store}/staff`)
        .set(bearer(api.token('hq-admin')))
        .send({ name, roles: ['cashier'], pin: '2468' })
        .expect(201)
    ).body;
    people.push({ id, name });
  }

  // Head office composes the survey in the console.
  const hqContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const hq = await hqContext.newPage();
  watches.push(watchConsole(hq, 'console'));
  await hq.goto(`${apps.gateway!.url}/`);
  await hq.getByLabel('Username').fill('admin');
  await hq.getByLabel('Password').fill(ns.env.LASTMETER_ADMIN_PASSWORD!);
  await hq.getByRole('button', { name: 'Sign in' }).click();
  await hq.getByRole('tab', { name: /Compose/ }).click();
  await hq.getByLabel('Kind').selectOption('survey');
  await hq.getByLabel('Title', { exact: true }).fill('How was your week?');
  await hq.getByLabel('Message', { exact: true }).fill('Two questions, anonymous.');
  await hq.getByLabel('Delivery').selectOption('now');
  await hq.getByRole('group', { name: 'Regions' }).getByLabel('survey-ui').check();
  const editor = hq.getByRole('group', { name: 'Survey questions' });
  await editor.getByRole('button', { name: 'Add a survey question' }).click();
  await editor.getByLabel('Survey question 1', { exact: true }).fill('How busy was the week?');
  await editor.getByRole('button', { name: 'Add a survey question' }).click();
  await editor.getByLabel('Survey question 2', { exact: true }).fill('One thing to improve?');
  await editor.getByLabel('Answered with (question 2)').selectOption('text');
  await screenshot(hq, 'console-survey-composer');
  await hq.getByRole('button', { name: 'Publish now' }).click();
  const survey = await eventually(async () => {
    const list = await request(apps.gateway!.url)
      .get('/v1/communications?status=published')
      .set(bearer(api.token('hq-admin')))
      .expect(200);
    const found = list.body.items.find((c: { title: string }) => c.title === 'How was your week?');
    expect(found?.survey?.questions).toEqual([
      { type: 'scale', prompt: 'How busy was the week?', min: 1, max: 5 },
      { type: 'text', prompt: 'One thing to improve?' },
    ]);
    return found.id as string;
  });

  // Ana answers on the tablet, signed in.
  const code = (
    (await api.send('post', '/v1/terminals', { storeId: store, name: 'Break room till' }, 'hq-admin')) as unknown as {
      enrollmentCode: string;
    }
  ).enrollmentCode;
  const tabletContext = await browser.newContext({ viewport: { width: 1024, height: 800 } });
  const tablet = await tabletContext.newPage();
  watches.push(watchConsole(tablet, 'tablet'));
  await tablet.goto(`${apps.gateway!.url}/store/`);
  await tablet.getByLabel('Enrollment code').fill(code);
  await tablet.getByRole('button', { name: 'Enroll tablet' }).click();
  await tablet.locator('[data-connection="online"]').waitFor();
  const stored = (await tablet.evaluate('localStorage.getItem("lastmeter.tablet.v1")')) as string;
  const tabletToken = (JSON.parse(stored) as { device: { token: string } }).device.token as string;
  page = tablet;
  await tablet.getByRole('button', { name: 'Open How was your week?' }).click();
  await tablet.getByText('Sign in to answer this survey').waitFor();
  await signIn('Ana', '2468');
  const form = tablet.getByRole('form', { name: 'Survey' });
  await form.getByLabel('4').check();
  await form.getByLabel('One thing to improve?').fill('A second coffee machine');
  await form.getByRole('button', { name: 'Send my answers' }).click();
  await tablet.getByText('Thank you. Your answers are anonymous.').waitFor();
  await screenshot(tablet, 'tablet-survey');

  // Below 5 respondents the console shows nothing but that; four more (by API) and it shows.
  await hq.getByRole('tab', { name: 'Communications' }).click();
  await hq.getByRole('button', { name: 'How was your week?' }).first().click();
  const results = hq.getByTestId('survey-results');
  await results.getByText('Below the threshold: not shown.').first().waitFor();
  const client = new TerminalClient({ url: apps.gateway!.url, token: tabletToken, cursors: new MemoryCursorStore() });
  await client.connect();
  await Promise.all(
    people.slice(1).map(async (person, i) => {
      const session = (
        await request(apps.command!.url)
          .post(`/v1/stores/${store}/staff/${person.id}/sign-in`)
          .set(bearer(tabletToken))
          .send({ pin: '2468' })
          .expect(200)
      ).body;
      expect(
        await client.send('survey.answer', {
          communicationId: survey,
          revision: 1,
          answers: [i + 1, `Idea ${i}`],
          staff: session.token,
        }),
      ).toEqual({ ok: true });
    }),
  );
  client.close();
  await results.getByText('5 respondents').first().waitFor();
  await results.getByText('A second coffee machine').first().waitFor();
  await screenshot(hq, 'console-survey-results');
  await hqContext.close();
  await tabletContext.close();
});
