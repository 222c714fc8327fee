/**
 * Who may run at the same time in a run of the e2e suites with two workers: most suites
 * side by side (they wait on Kafka and on processes far more than they compute, and each
 * isolates itself by topic and key prefix), but a suite marked `@exclusive` in its
 * docblock alone (it starts brokers of its own, kills processes on a clock, drives
 * Chromium or measures load). A readers-writer lock served by the jest parent process
 * (global-setup) over a Unix socket: a worker's test environment asks for it before the
 * suite's first hook and gives it back after its last (e2e-environment.ts); closing the
 * connection gives it back too, so a worker that dies cannot keep it.
 *
 * Requests are granted first come, first served, so an exclusive suite is not starved by
 * shared ones arriving after it.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type LockMode = 'shared' | 'exclusive';

interface Request {
  mode: LockMode;
  socket: Socket;
  held: boolean;
}

export class SuiteLockServer {
  private readonly queue: Request[] = [];
  private shared = 0;
  private exclusive = false;
  private readonly server: Server;

  private constructor(readonly path: string) {
    this.server = createServer((socket) => this.accept(socket));
  }

  static async listen(path: string): Promise<SuiteLockServer> {
    const lock = new SuiteLockServer(path);
    await new Promise<void>((resolve, reject) => {
      lock.server.once('error', reject);
      lock.server.listen(path, resolve);
    });
    // The jest parent must not wait for this server to exit.
    lock.server.unref();
    return lock;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    let request: Request | undefined;
    socket.setEncoding('utf8');
    socket.once('data', (line: string) => {
      const mode = line.trim();
      if (mode !== 'shared' && mode !== 'exclusive') {
        socket.destroy();
        return;
      }
      request = { mode, socket, held: false };
      this.queue.push(request);
      this.grant();
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      if (!request) return;
      if (!request.held) this.queue.splice(this.queue.indexOf(request), 1);
      else if (request.mode === 'exclusive') this.exclusive = false;
      else this.shared--;
      this.grant();
    });
  }

  /** Grants the head of the queue while it is compatible with what is held. */
  private grant(): void {
    for (;;) {
      const next = this.queue[0];
      if (!next || this.exclusive) return;
      if (next.mode === 'exclusive' && this.shared > 0) return;
      this.queue.shift();
      next.held = true;
      if (next.mode === 'exclusive') this.exclusive = true;
      else this.shared++;
      next.socket.write('granted\n');
    }
  }
}

/** Waits for the lock; resolves with the connection whose end gives it back. */
export function acquireSuiteLock(path: string, mode: LockMode): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path, () => socket.write(`${mode}\n`));
    socket.setEncoding('utf8');
    socket.once('data', () => resolve(socket));
    socket.once('error', reject);
  });
}
