import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Socket } from 'node:net';
import { acquireSuiteLock, SuiteLockServer, type LockMode } from './suite-lock';

let dir: string;
let server: SuiteLockServer;
const held: Socket[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'suite-lock-'));
  server = await SuiteLockServer.listen(join(dir, 'lock.sock'));
});

afterEach(async () => {
  for (const socket of held.splice(0)) socket.destroy();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Asks for the lock; `granted` says whether it has been given yet. */
function ask(mode: LockMode) {
  const state = { granted: false, socket: undefined as Socket | undefined };
  const promise = acquireSuiteLock(server.path, mode).then((socket) => {
    held.push(socket);
    state.granted = true;
    state.socket = socket;
    return socket;
  });
  return Object.assign(state, { promise });
}

/** Lets the lock server and the clients exchange what they have to. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

function release(socket: Socket | undefined): void {
  socket!.end();
}

describe('suite lock', () => {
  it('lets shared suites run side by side', async () => {
    const [a, b] = [ask('shared'), ask('shared')];
    await Promise.all([a.promise, b.promise]);
    expect([a.granted, b.granted]).toEqual([true, true]);
  });

  it('runs an exclusive suite alone: after the shared ones end, and before those that came after it', async () => {
    const first = ask('shared');
    await first.promise;
    const exclusive = ask('exclusive');
    await settle();
    const later = ask('shared');
    await settle();
    expect([exclusive.granted, later.granted]).toEqual([false, false]);

    release(first.socket);
    await exclusive.promise;
    await settle();
    expect(later.granted).toBe(false);

    release(exclusive.socket);
    await later.promise;
  });

  it('gives the lock back when its holder dies, and forgets a request whose asker went away', async () => {
    const holder = ask('exclusive');
    await holder.promise;
    // An asker that goes away while it waits: left in the queue, it would be granted the
    // lock nobody gives back.
    const gone = createConnection(server.path, () => gone.write('exclusive\n'));
    await settle();
    gone.destroy();
    const next = ask('shared');
    await settle();
    expect(next.granted).toBe(false);
    holder.socket!.destroy();
    await next.promise;
  });
});
