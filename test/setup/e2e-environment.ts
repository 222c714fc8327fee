/**
 * The e2e suites' test environment: Node's, plus the suite lock (suite-lock.ts). A suite
 * whose docblock says `@exclusive` runs alone; the others run side by side. The lock is
 * taken here, before the suite's first hook, because waiting for it inside a hook would
 * count against the hook's timeout.
 */
import type { Socket } from 'node:net';
import { TestEnvironment } from 'jest-environment-node';
import { acquireSuiteLock, type LockMode } from './suite-lock';

export default class E2eEnvironment extends TestEnvironment {
  private readonly mode: LockMode;
  private lock?: Socket;

  constructor(...[config, context]: ConstructorParameters<typeof TestEnvironment>) {
    super(config, context);
    this.mode = 'exclusive' in context.docblockPragmas ? 'exclusive' : 'shared';
  }

  override async setup(): Promise<void> {
    await super.setup();
    const path = process.env.LASTMETER_SUITE_LOCK;
    if (path) this.lock = await acquireSuiteLock(path, this.mode);
  }

  override async teardown(): Promise<void> {
    this.lock?.end();
    await super.teardown();
  }
}
