/**
 * The e2e suites' test environment: Node's, plus the suite lock (suite-lock.ts). A suite
 * whose docblock says `@exclusive` runs alone; the others run side by side. The lock is
 * taken here, before the suite's first hook, because waiting for it inside a hook would
 * count against the hook's timeout.
 *
 * A failed test also reports what the suite's apps logged while it ran (app-digest.ts).
 */
import type { Socket } from 'node:net';
import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';
import { appDigest, SUITE_APPS, type DigestedApp } from '../support/app-digest';
import { acquireSuiteLock, type LockMode } from './suite-lock';

export default class E2eEnvironment extends TestEnvironment {
  private readonly mode: LockMode;
  private lock?: Socket;
  private testStartedAt = Date.now();

  constructor(...[config, context]: ConstructorParameters<typeof TestEnvironment>) {
    super(config, context);
    this.mode = 'exclusive' in context.docblockPragmas ? 'exclusive' : 'shared';
  }

  override async setup(): Promise<void> {
    await super.setup();
    const path = process.env.LASTMETER_SUITE_LOCK;
    if (path) this.lock = await acquireSuiteLock(path, this.mode);
  }

  handleTestEvent(event: Circus.Event): void {
    if (event.name === 'test_start') this.testStartedAt = Date.now();
    if (event.name !== 'test_done' || event.test.errors.length === 0) return;
    const apps = this.global[SUITE_APPS] as DigestedApp[] | undefined;
    const digest = appDigest(apps ?? [], this.testStartedAt);
    if (!digest) return;
    // An error of its own, after the test's: jest prints it with them, its stack is the digest.
    const error = new Error(digest);
    error.stack = digest;
    event.test.errors.push(error);
  }

  override async teardown(): Promise<void> {
    this.lock?.end();
    await super.teardown();
  }
}
