import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, launchHeadless } from '../../bench/lib/browser';

export { CHROMIUM };
/** Screenshots of the browser tests (not committed). */
export const SCREENSHOTS = join(__dirname, '..', '..', 'test-results', 'web');

/**
 * Debian's Chromium, headless, driven by playwright-core. A missing browser fails the
 * suite with one line saying what to install: browser tests never pass by not running.
 */
export async function launchChromium(executablePath = CHROMIUM): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: install it with \`apt-get install chromium\` (or set LASTMETER_CHROMIUM)`,
    );
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  return launchHeadless(executablePath);
}

/** Network noise a page logs while a test has cut its connection on purpose. */
const EXPECTED_WHILE_OFFLINE =
  /WebSocket connection to .* failed|ERR_CONNECTION_(REFUSED|RESET|CLOSED)|Failed to load resource/;

/**
 * Every console error and uncaught exception of a page, so a test can assert there were
 * none (apart from the connection failures it caused itself).
 */
export function watchConsole(
  page: Page,
  name: string,
): { errors: () => string[]; allowNetworkErrors: (on: boolean) => void } {
  const errors: string[] = [];
  let networkErrorsExpected = false;
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (networkErrorsExpected && EXPECTED_WHILE_OFFLINE.test(message.text())) return;
    errors.push(`${name}: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`${name}: uncaught ${error.message}`));
  return { errors: () => errors, allowNetworkErrors: (on) => (networkErrorsExpected = on) };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * The `feed` messages the server sent a tablet page, read off the WebSocket frames
 * (Socket.IO packets `42/terminal,["feed",{...}]`): what was on the wire, whatever the
 * page did with it.
 */
export function recordFeedFrames(page: Page): number[] {
  const feedSeqs: number[] = [];
  page.on('websocket', (socket) => {
    socket.on('framereceived', ({ payload }) => {
      const text = typeof payload === 'string' ? payload : payload.toString('utf8');
      const match = /^42\/terminal,(.*)$/s.exec(text);
      if (!match) return;
      const [event, body] = JSON.parse(match[1]) as [string, { feedSeq: number }];
      if (event === 'feed') feedSeqs.push(body.feedSeq);
    });
  });
  return feedSeqs;
}

/**
 * The pages a browser suite opened: each watched for console errors, and all of them
 * screenshotted after each test, passed or failed, for a person to look at.
 */
export class WatchedPages {
  private readonly consoles: Array<ReturnType<typeof watchConsole>> = [];
  private readonly pages = new Map<string, Page>();

  async open(
    context: BrowserContext,
    url: string,
    name: string,
  ): Promise<{ page: Page; console: ReturnType<typeof watchConsole> }> {
    const page = await context.newPage();
    const console = watchConsole(page, name);
    this.consoles.push(console);
    this.pages.set(name, page);
    await page.goto(url);
    return { page, console };
  }

  /** For afterEach: every page as the test left it, then no page logged an error or threw. */
  async check(): Promise<void> {
    const test = (expect.getState().currentTestName ?? 'test').replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
    for (const [name, page] of this.pages) await screenshot(page, `${test}--${name}`).catch(() => undefined);
    expect(this.consoles.flatMap((c) => c.errors())).toEqual([]);
  }
}
