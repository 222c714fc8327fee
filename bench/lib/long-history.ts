/**
 * A new tablet in a store with a long history (issue 16, item 8): "a new tablet in a store
 * with 10,000 past entries shows the current feed within 2 s, and device storage stays
 * under 1 MB". One store gets ENTRIES feed entries through the command API (notices
 * drafted and published by an editor, some retracted, some expiring before the
 * measurement, some with a distant expiry), then:
 * - baseline: a cursor-less `TerminalClient` in Node, from connect to the last item of the
 *   live set (`hello.snapshot`), the protocol without the browser; and the read API's
 *   `GET /v1/stores/:id/feed?asOf=now` (the same live set over HTTP), for reference;
 * - measured: a fresh Chromium page of the store tablet (`/store/`), enrolled (its device
 *   token on the device, as enrollment leaves it, no cursor), from navigation start to
 *   the first frame with the newest notice on screen; then, once it has settled, what it
 *   keeps on the device: the UTF-8 bytes of the JSON of its IndexedDB (what the tablet's
 *   own budget counts, web/src/store/feed-budget.ts) and `navigator.storage.estimate()`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchHeadless, readTabletStorage } from './browser';
import type { FeedMessage, FeedPage, Hello } from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import type { BenchInfra } from '../support';
import { msSince } from './fleet';
import { round, sized, summary, type Metric } from './results';
import { forEachConcurrently } from './concurrently';
import { enrollTerminal, untilQuiet, type Stack } from './stack';

export const HISTORY_ENTRIES = sized({ full: 10_000, quick: 2_000, tiny: 50 });
const RUNS = Number(process.env.BENCH_HISTORY_RUNS ?? sized({ full: 3, quick: 2, tiny: 1 }));
const CONCURRENCY = 50;
/** How long a tablet may take to show the newest notice before the run fails. */
const SHOWN_TIMEOUT_MS = Number(process.env.BENCH_HISTORY_TIMEOUT_MS ?? 120_000);
const GOAL_MS = 2_000;
const BUDGET_KIB = 1_024;
/**
 * Expiring notices expire this long after their publish, so they are gone before the
 * measurement (a tiny run publishes 50 in about a second).
 */
const EXPIRE_AFTER_MS = sized({ full: 15_000, quick: 15_000, tiny: 4_000 });
/** The feed counts as complete once it has not grown for this long after the last expiry. */
const STABLE_MS = 3_000;
/**
 * A folder: after the timed runs, one more run (not counted: the profiler slows the page)
 * is profiled with the CDP `Profiler`, navigation → the newest notice on screen, into
 * `tablet.cpuprofile` there (Chrome DevTools opens it).
 */
const PROFILE_DIR = process.env.BENCH_HISTORY_PROFILE;

/**
 * What happens to the i-th notice: of every 4, one is retracted (two entries), one expires
 * shortly after it is published, one stays live with a distant expiry and one stays live
 * without expiry. Per 5 entries: 4 publishes and 1 retraction; half the notices are live.
 */
type Fate = 'retracted' | 'expiring' | 'live-expiry' | 'live';
const FATES: Fate[] = ['retracted', 'expiring', 'live-expiry', 'live'];
const fate = (i: number): Fate => FATES[i % FATES.length]!;

export interface LongHistoryResult {
  metrics: Metric[];
  parameters: Record<string, unknown>;
  samples: Record<string, number[]>;
}

const editors = new WeakMap<Stack, string>();

/** POST to the command API as an hq-editor (an editor's own draft is approved by publishing it). */
async function post(stack: Stack, path: string, body: object): Promise<{ id: string }> {
  let token = editors.get(stack);
  if (!token) editors.set(stack, (token = stack.token('hq-editor')));
  const response = await fetch(`${stack.urls.command}/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${path}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text || '{}') as { id: string };
}

/** Feed entries a notice of that fate leaves: its publish, and its retraction or expiry. */
const COST: Record<Fate, number> = { retracted: 2, expiring: 2, 'live-expiry': 1, live: 1 };

/** The fates of `count` entries' worth of notices: the cycle of FATES, then live ones to make up the count. */
function plan(count: number): Fate[] {
  const fates: Fate[] = [];
  let used = 0;
  for (let i = 0; used + COST[fate(i)] <= count; i++) {
    fates.push(fate(i));
    used += COST[fate(i)];
  }
  for (; used < count; used++) fates.push('live');
  return fates;
}

/**
 * Adds `count` entries to one store's feed, CONCURRENCY notices at a time (draft and
 * publish by an editor, then for some a retraction; others expire on their own), the
 * newest notice last: the one the measurement waits for. The expiry entries come once
 * the notices have expired.
 */
async function fill(
  stack: Stack,
  storeId: string,
  count: number,
): Promise<{ newest: string; seconds: number; live: number; lastExpiry: number }> {
  const started = process.hrtime.bigint();
  const fates = plan(count - 1);
  let lastExpiry = 0;
  const audience = { storeIds: [storeId] };
  const body = 'New shelf labels are in the back office. Replace the old ones before opening. ';
  await forEachConcurrently(fates.length, CONCURRENCY, async (i) => {
    const f = fates[i]!;
    const { id } = await post(stack, '/communications', {
      kind: 'notice',
      title: `History notice ${i}`,
      body,
      audience,
    });
    const expiresAt =
      f === 'expiring' ? Date.now() + EXPIRE_AFTER_MS : f === 'live-expiry' ? Date.now() + 30 * 86_400_000 : undefined;
    if (f === 'expiring') lastExpiry = Math.max(lastExpiry, expiresAt!);
    await post(
      stack,
      `/communications/${id}/publish`,
      expiresAt ? { expiresAt: new Date(expiresAt).toISOString() } : {},
    );
    if (f === 'retracted') await post(stack, `/communications/${id}/retract`, {});
    if ((i + 1) % 1_000 === 0) console.error(`  long history: ${i + 1} of ${fates.length} notices`);
  });
  const { id: newest } = await post(stack, '/communications', {
    kind: 'notice',
    title: 'Newest notice: the current feed',
    body,
    audience,
  });
  await post(stack, `/communications/${newest}/publish`, {});
  return {
    newest,
    seconds: msSince(started, process.hrtime.bigint()) / 1_000,
    live: 1 + fates.filter((f) => f.startsWith('live')).length,
    lastExpiry,
  };
}

/** A cursor-less TerminalClient: ms from connect to the last item of the live set. */
async function nodeLiveSet(stack: Stack, token: string): Promise<{ ms: number; items: number; headSeq: number }> {
  const client = new TerminalClient({
    url: stack.urls.gateway,
    token,
    cursors: new MemoryCursorStore(),
    reconnection: false,
  });
  try {
    const started = process.hrtime.bigint();
    let expected = -1;
    let received = 0;
    let headSeq = 0;
    const done = new Promise<bigint>((resolve, reject) => {
      const check = () => expected >= 0 && received >= expected && resolve(process.hrtime.bigint());
      client.onHello((hello: Hello) => {
        expected = hello.snapshot ?? 0;
        headSeq = hello.headSeq;
        check();
      });
      client.onItem((message: FeedMessage) => {
        if (message.snapshot) received++;
        check();
      });
      setTimeout(() => reject(new Error(`live set not received in 60 s (${received} of ${expected})`)), 60_000).unref();
    });
    await client.connect();
    const ended = await done;
    return { ms: msSince(started, ended), items: received, headSeq };
  } finally {
    client.close();
  }
}

/** The same live set over HTTP (`asOf` now): ms to the whole body. */
async function httpLiveSet(stack: Stack, storeId: string): Promise<{ ms: number; items: number }> {
  const started = process.hrtime.bigint();
  const response = await fetch(
    `${stack.urls.gateway}/v1/stores/${storeId}/feed?asOf=${encodeURIComponent(new Date().toISOString())}`,
    { headers: { authorization: `Bearer ${stack.token('analyst')}` } },
  );
  if (!response.ok) throw new Error(`feed asOf: ${response.status} ${await response.text()}`);
  const page = (await response.json()) as FeedPage;
  return { ms: msSince(started, process.hrtime.bigint()), items: page.items.length };
}

interface PageTimings {
  /** ms from navigation start (the page's clock), each at the first frame that shows it. */
  newest: number;
  online?: number;
  firstCard?: number;
  domContentLoaded?: number;
  scripts?: number;
  cards: number;
  /** [ms from navigation, cards on screen], about once a second. */
  progress?: Array<[number, number]>;
  /** [ms from navigation, data-connection] at each change. */
  connection?: Array<[number, string]>;
}

/** Installed before the page's scripts: watches every frame for the moments that matter. */
const WATCHER = (newestId: string) => `(() => {
  const marks = { progress: [], connection: [] };
  globalThis.__longHistory = marks;
  let sampled = 0;
  let connection;
  const check = () => {
    const now = performance.now();
    const state = document.querySelector('[data-connection]')?.getAttribute('data-connection');
    if (state !== connection) marks.connection.push([Math.round(now), (connection = state)]);
    if (now - sampled >= 1000) {
      sampled = now;
      marks.progress.push([Math.round(now), document.querySelectorAll('[data-testid="feed"] li').length]);
    }
    if (marks.online === undefined && document.querySelector('[data-connection="online"]')) marks.online = now;
    if (marks.firstCard === undefined && document.querySelector('[data-testid="feed"] li')) marks.firstCard = now;
    if (document.querySelector('[data-communication-id="${newestId}"]')) {
      marks.newest = now;
      marks.cards = document.querySelectorAll('[data-testid="feed"] li').length;
      return;
    }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})()`;

async function pageTimings(page: Page): Promise<PageTimings> {
  // Polled from Node: the page's CSP (no eval) refuses waitForFunction's string.
  const deadline = Date.now() + SHOWN_TIMEOUT_MS;
  while (!(await page.evaluate('globalThis.__longHistory?.newest !== undefined'))) {
    if (Date.now() > deadline) {
      const progress = (await page.evaluate('JSON.stringify(globalThis.__longHistory)')) as string;
      throw new Error(
        `the newest notice was not on screen within ${SHOWN_TIMEOUT_MS / 1_000} s (ms from navigation, cards on screen: ${progress})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return (await page.evaluate(`(() => {
    const marks = globalThis.__longHistory;
    const nav = performance.getEntriesByType('navigation')[0];
    const scripts = performance.getEntriesByType('resource').filter((r) => r.initiatorType === 'script');
    return {
      ...marks,
      domContentLoaded: nav ? nav.domContentLoadedEventEnd : undefined,
      scripts: scripts.length ? Math.max(...scripts.map((r) => r.responseEnd)) : undefined,
    };
  })()`)) as PageTimings;
}

interface OnDevice {
  cursor: number;
  items: number;
  bytes: number;
  usage: number;
  pending: boolean;
}

/** What the tablet keeps on the device, and whether it shows receipts waiting to be sent. */
async function onDevice(page: Page): Promise<OnDevice> {
  const storage = await readTabletStorage<{ cursor: number }, unknown>(page);
  const pending = (await page.evaluate('!!document.body.textContent.match(/waiting to send/)')) as boolean;
  return {
    cursor: storage.state?.cursor ?? 0,
    items: storage.items.length,
    bytes: storage.bytes,
    usage: storage.usage,
    pending,
  };
}

/** Until the device holds the feed at `headSeq`, nothing waits to be sent, and nothing changed for 1 s. */
async function settled(page: Page, headSeq: number): Promise<OnDevice> {
  const deadline = Date.now() + 60_000;
  let last: OnDevice | undefined;
  let since = Date.now();
  for (;;) {
    const now = await onDevice(page).catch(() => undefined);
    const same = now && last && now.bytes === last.bytes && now.items === last.items && now.cursor === last.cursor;
    if (!same) since = Date.now();
    last = now ?? last;
    if (now && same && now.cursor >= headSeq && !now.pending && Date.now() - since >= 1_000) return now;
    if (Date.now() > deadline) {
      console.error(`  long history: the tablet did not settle in 60 s (${JSON.stringify(last)}); measuring anyway`);
      return last ?? { cursor: 0, items: 0, bytes: 0, usage: 0, pending: true };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * The long-history row of the scale scenario: a store with HISTORY_ENTRIES feed entries,
 * a new tablet's time to the current feed and its storage, against a Node client's live
 * set from the same run.
 */
export async function longHistory(stack: Stack, _infra?: BenchInfra): Promise<LongHistoryResult> {
  const entries = HISTORY_ENTRIES;
  const { id: regionId } = await stack.command('/regions', { code: 'history', name: 'Long history' });
  const { id: storeId } = await stack.command('/stores', { code: 'history-1', name: 'History store', regionId });
  // A store created now already has what is live for every store (the national notices).
  await untilQuiet(stack);
  const before = await stack.read<FeedPage>(`/stores/${storeId}/feed?limit=1`);
  const liveBefore = (await httpLiveSet(stack, storeId)).items;
  console.error(`long history: ${entries} feed entries in one store (${before.headSeq} there already)…`);
  const filled = await fill(stack, storeId, entries - before.headSeq);
  const expected = liveBefore + filled.live;
  // The expiring notices expire, each with an entry of its own.
  const wait = filled.lastExpiry - Date.now() + 500;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  // Then until the feed has them all, or has not grown for STABLE_MS: a notice retracted
  // before its publish was sequenced leaves no entry at all (the plan is level-triggered),
  // so the count is not always reached, and waiting longer would not change it.
  const deadline = Date.now() + 30_000;
  let headSeq = 0;
  let grewAt = Date.now();
  for (;;) {
    const head = (await stack.read<FeedPage>(`/stores/${storeId}/feed?limit=1`)).headSeq;
    if (head !== headSeq) [headSeq, grewAt] = [head, Date.now()];
    if (headSeq >= entries || Date.now() - grewAt > STABLE_MS || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await untilQuiet(stack);
  console.error(
    `  ${headSeq} entries (filled at ${Math.round((entries - before.headSeq) / filled.seconds)}/s in ${filled.seconds.toFixed(1)} s), ${expected} live`,
  );
  if (headSeq !== entries) {
    console.error(`  long history: the store's feed has ${headSeq} entries, not ${entries}; measuring that`);
  }

  const browser = await launchHeadless();
  const shown: number[] = [];
  const node: number[] = [];
  const http: number[] = [];
  const stored: OnDevice[] = [];
  const breakdown: PageTimings[] = [];
  let liveItems = 0;
  try {
    for (let run = 0; run < RUNS + (PROFILE_DIR ? 1 : 0); run++) {
      const profiled = run === RUNS;
      // Baselines: the live set in Node, over the socket and over HTTP.
      const baselineDevice = await enrollTerminal(stack, storeId);
      const socket = await nodeLiveSet(stack, baselineDevice.token);
      liveItems = socket.items;
      if (!profiled) node.push(socket.ms);
      const read = await httpLiveSet(stack, storeId);
      if (!profiled) http.push(read.ms);
      if (socket.items !== read.items) {
        throw new Error(`live set: ${socket.items} items over the socket, ${read.items} over HTTP`);
      }
      if (socket.items !== expected) {
        console.error(`  long history: ${socket.items} live items, ${expected} expected`);
      }

      // A new tablet: enrolled (the device token on the device), no feed yet.
      const device = await enrollTerminal(stack, storeId);
      const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
      const enrolled = { device: { ...device, storeId } };
      await context.addInitScript(
        `localStorage.setItem('lastmeter.tablet.v1', ${JSON.stringify(JSON.stringify(enrolled))})`,
      );
      await context.addInitScript(WATCHER(filled.newest));
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      const cdp = profiled ? await context.newCDPSession(page) : undefined;
      if (cdp) {
        await cdp.send('Profiler.enable');
        await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
        await cdp.send('Profiler.start');
      }
      try {
        await page.goto(`${stack.urls.gateway}/store/`);
        const timings = await pageTimings(page);
        if (cdp) {
          const { profile } = await cdp.send('Profiler.stop');
          mkdirSync(PROFILE_DIR!, { recursive: true });
          writeFileSync(join(PROFILE_DIR!, 'tablet.cpuprofile'), JSON.stringify(profile));
        }
        const device = await settled(page, headSeq);
        if (errors.length) throw new Error(`the tablet logged errors: ${errors.join('; ')}`);
        if (!profiled) {
          shown.push(timings.newest);
          breakdown.push(timings);
          stored.push(device);
        }
        console.error(
          `  ${profiled ? 'profiled run (not counted)' : `run ${run + 1}`}: newest notice on screen ${timings.newest.toFixed(0)} ms after navigation (scripts ${timings.scripts?.toFixed(0)}, online ${timings.online?.toFixed(0)}, first card ${timings.firstCard?.toFixed(0)} ms; ${timings.cards} cards); Node live set ${socket.ms.toFixed(0)} ms (${socket.items} items), HTTP ${read.ms.toFixed(0)} ms; on the device ${(device.bytes / 1024).toFixed(0)} KiB of JSON in ${device.items} items, estimate ${(device.usage / 1024).toFixed(0)} KiB`,
        );
      } catch (error) {
        const text = (
          await page
            .locator('body')
            .textContent()
            .catch(() => '')
        )?.slice(0, 300);
        throw new Error(
          `long history: ${(error as Error).message.split('\n')[0]}; page: ${text}; errors: ${errors.join('; ')}`,
        );
      } finally {
        await context.close();
      }
      await untilQuiet(stack, 500);
    }
  } finally {
    await browser.close();
  }
  const worstBytes = Math.max(...stored.map((d) => d.bytes));
  const worstUsage = Math.max(...stored.map((d) => d.usage));
  const name = `new tablet, store with ${entries} past entries`;
  return {
    metrics: [
      {
        name: `${name}: current feed shown, p50`,
        unit: 'ms',
        value: summary(shown).p50,
        baseline: summary(node).p50,
        baselineName: `Node TerminalClient, cursor-less: the live set (${liveItems} items)`,
        lowerIsBetter: true,
        goal: GOAL_MS,
        goalIsAbsolute: true,
      },
      {
        name: `device storage after ${entries} entries (JSON of the tablet's IndexedDB, largest run)`,
        unit: 'KiB',
        value: round(worstBytes / 1024, 1),
        lowerIsBetter: true,
        goal: BUDGET_KIB,
        goalIsAbsolute: true,
      },
      {
        name: `device storage after ${entries} entries (navigator.storage.estimate, largest run)`,
        unit: 'KiB',
        value: round(worstUsage / 1024, 1),
        lowerIsBetter: true,
      },
    ],
    parameters: {
      entries,
      headSeq,
      runs: RUNS,
      liveItems,
      'fill seconds': round(filled.seconds, 1),
      'HTTP live set (asOf) p50 ms': summary(http).p50,
      'page timings (ms from navigation start)': breakdown.map((t) => ({
        scripts: t.scripts === undefined ? undefined : round(t.scripts, 0),
        domContentLoaded: t.domContentLoaded === undefined ? undefined : round(t.domContentLoaded, 0),
        online: t.online === undefined ? undefined : round(t.online, 0),
        firstCard: t.firstCard === undefined ? undefined : round(t.firstCard, 0),
        newest: round(t.newest, 0),
        cards: t.cards,
        progress: t.progress,
        connection: t.connection,
      })),
      'on the device': stored.map((d) => ({
        items: d.items,
        jsonKiB: round(d.bytes / 1024, 1),
        usageKiB: round(d.usage / 1024, 1),
      })),
    },
    samples: { [`${name}: current feed shown`]: shown },
  };
}
