import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium (or LASTMETER_CHROMIUM): what the browser tests and benchmarks drive. */
export const CHROMIUM = process.env.LASTMETER_CHROMIUM ?? '/usr/bin/chromium';

/** Headless Chromium with the flags of a quiet, sandbox-less run (no updates, sync or first-run UI). */
export function launchHeadless(executablePath = CHROMIUM): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** What the store tablet keeps on the device, as `readTabletStorage` finds it. */
export interface TabletStorage<State, Item> {
  /** The `state` record of its IndexedDB (cursor, epoch, progress, outbox…), if any yet. */
  state: State | undefined;
  items: Item[];
  /** UTF-8 bytes of the JSON of everything in its IndexedDB (what web/src/store/feed-budget.ts counts). */
  bytes: number;
  /** Every localStorage entry of the page. */
  local: Record<string, string>;
  /** `navigator.storage.estimate().usage`: what the origin takes on the device. */
  usage: number;
}

/**
 * What the store tablet keeps on the device, read in the page: its IndexedDB database
 * (`lastmeter-tablet`, opened only once the tablet created it), localStorage and the
 * storage estimate. Run as a string: the browser's types are not in the compilation.
 */
export function readTabletStorage<State, Item>(page: Page): Promise<TabletStorage<State, Item>> {
  return page.evaluate(`(async () => {
    const request = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
    const db = await request(indexedDB.open('lastmeter-tablet'));
    const tx = db.transaction(['state', 'items']);
    const [states, items] = await Promise.all([request(tx.objectStore('state').getAll()), request(tx.objectStore('items').getAll())]);
    db.close();
    const bytes = new TextEncoder().encode(JSON.stringify(states) + JSON.stringify(items)).byteLength;
    const local = {};
    for (let i = 0; i < localStorage.length; i++) local[localStorage.key(i)] = localStorage.getItem(localStorage.key(i));
    const estimate = await navigator.storage.estimate();
    return { state: states[0], items, bytes, local, usage: estimate.usage ?? 0 };
  })()`);
}
