import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ReceiptKind, ReceiptPayload } from '@lastmeter/contracts';
import type { ClientKind, LoadCommand, LoadReply } from './load-clients';

/** Extra flags for the load and bare server processes (BENCH_LOAD_NODE_ARGS, space separated). */
const loadNodeArgs = (): string[] => (process.env.BENCH_LOAD_NODE_ARGS ?? '').split(' ').filter(Boolean);

function ask<R extends { type: string }>(child: ChildProcess, message: object, expect: R['type']): Promise<R> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: R) => {
      if (reply.type !== expect) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(reply);
    };
    const onExit = (code: number | null) => reject(new Error(`load process exited (${code}) before ${expect}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(message);
  });
}

/**
 * Client connections spread over `processes` load-generator processes (never the
 * process of the server under test).
 */
export class Fleet {
  private readonly children: ChildProcess[];
  size = 0;

  constructor(processes = 1) {
    this.children = Array.from({ length: processes }, () =>
      fork(join(__dirname, 'load-clients.js'), [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        // BENCH_LOAD_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`): profiling the clients' side.
        execArgv: ['--max-old-space-size=4096', ...loadNodeArgs()],
      }),
    );
  }

  /** The load processes' pids. */
  get pids(): number[] {
    return this.children.map((child) => child.pid!);
  }

  /** One load process, two from 5,000 clients on (one process cannot parse that many sockets' traffic in time). */
  static for(clients: number): Fleet {
    return new Fleet(clients >= 5_000 ? 2 : 1);
  }

  async connect(kind: ClientKind, url: string, clients: Array<{ token?: string; cursor?: number }>): Promise<void> {
    const share = Math.ceil(clients.length / this.children.length);
    const replies = await Promise.all(
      this.children.map((child, i) =>
        ask<Extract<LoadReply, { type: 'connected' }>>(
          child,
          { type: 'connect', kind, url, clients: clients.slice(i * share, (i + 1) * share) } satisfies LoadCommand,
          'connected',
        ),
      ),
    );
    const failed = replies.reduce((n, r) => n + r.failed, 0);
    this.size += replies.reduce((n, r) => n + r.connected, 0);
    if (failed)
      throw new Error(
        `${failed} of ${clients.length} ${kind} clients failed to connect: ${replies.flatMap((r) => r.errors).join('; ')}`,
      );
  }

  /** Per key: how many clients received it, and when the last one did (hrtime ns). */
  async collect(): Promise<Map<string, { count: number; last: bigint; first: bigint }>> {
    const replies = await Promise.all(
      this.children.map((child) =>
        ask<Extract<LoadReply, { type: 'collected' }>>(child, { type: 'collect' }, 'collected'),
      ),
    );
    const merged = new Map<string, { count: number; last: bigint; first: bigint }>();
    for (const reply of replies) {
      for (const [key, entry] of Object.entries(reply.received)) {
        const last = BigInt(entry.last);
        const first = BigInt(entry.first);
        const seen = merged.get(key);
        if (!seen) merged.set(key, { count: entry.count, last, first });
        else {
          seen.count += entry.count;
          if (last > seen.last) seen.last = last;
          if (first < seen.first) seen.first = first;
        }
      }
    }
    return merged;
  }

  /**
   * Every connected terminal (kind `terminal`) sends the receipts `kinds` for one
   * communication, in turn, each once the previous one was acked, all terminals at once.
   * Totals over the load processes; `seconds` runs from the first send to the last ack.
   */
  async receipts(communicationId: string, revision: number, kinds: ReceiptKind[], timeoutMs?: number) {
    return this.receipted({ type: 'receipts', communicationId, revision, kinds, timeoutMs });
  }

  /**
   * Every connected terminal sends `items`, `batch` per message (`receipts { items }`, or
   * `receipt` one at a time), each message once the previous one was acked, all terminals
   * at once. Counts are per item; `latencies` per message.
   */
  async sendReceipts(
    items: ReceiptPayload[],
    options: { event: 'receipt' | 'receipts'; batch: number; timeoutMs?: number },
  ) {
    return this.receipted({ type: 'send-receipts', items, ...options });
  }

  private async receipted(command: Extract<LoadCommand, { type: 'receipts' | 'send-receipts' }>) {
    const replies = await Promise.all(
      this.children.map((child) => ask<Extract<LoadReply, { type: 'receipted' }>>(child, command, 'receipted')),
    );
    const started = replies.map((r) => BigInt(r.started)).reduce((a, b) => (b < a ? b : a));
    const finished = replies.map((r) => BigInt(r.finished)).reduce((a, b) => (b > a ? b : a));
    const sum = (key: 'acked' | 'refused' | 'rateLimited' | 'failed') => replies.reduce((n, r) => n + r[key], 0);
    return {
      acked: sum('acked'),
      refused: sum('refused'),
      rateLimited: sum('rateLimited'),
      failed: sum('failed'),
      resent: replies.reduce((n, r) => n + (r.resent ?? 0), 0),
      retryReasons: replies.reduce<Record<string, number>>((all, r) => {
        for (const [reason, n] of Object.entries(r.retryReasons ?? {})) all[reason] = (all[reason] ?? 0) + n;
        return all;
      }, {}),
      errors: [...new Set(replies.flatMap((r) => r.errors))].slice(0, 5),
      latencies: replies.flatMap((r) => r.latencies),
      seconds: msSince(started, finished) / 1_000,
      /** hrtime ns of the last ack (the same clock in every process of the machine). */
      lastAck: finished,
    };
  }

  private closed = false;

  /** Closes every client and ends the load processes (once; a second call does nothing). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.children.map((child) => ask(child, { type: 'close' }, 'closed').catch(() => undefined)));
    await Promise.all(this.children.map(stopChild));
  }
}

/**
 * Stops a child process (SIGTERM, SIGKILL after 10 s); resolves once it exited. The apps
 * and the load and bare server processes all exit by themselves on SIGTERM, so what
 * their flags ask for at exit (a `--cpu-prof` profile) is written.
 */
export function stopChild(child: ChildProcess | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

/** A bare fan-out server (bench/lib/bare-fanout-server.ts) in its own process. */
export class BareServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(kind: 'socketio' | 'ws'): Promise<BareServer> {
    const child = fork(join(__dirname, 'bare-fanout-server.js'), [kind], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: ['--expose-gc', ...loadNodeArgs()],
    });
    const ready = await new Promise<{ port: number }>((resolve) =>
      child.on('message', (m: { type: string; port: number }) => m.type === 'ready' && resolve(m)),
    );
    return new BareServer(child, ready.port);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  broadcast(seq: number): void {
    this.child.send({ type: 'broadcast', seq });
  }

  memory(): Promise<NodeJS.MemoryUsage> {
    return ask<{ type: 'memory' } & NodeJS.MemoryUsage>(this.child, { type: 'memory' }, 'memory');
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

/** Waits until every one of `expected` clients has `keys`, then returns each key's last receive (hrtime ns). */
export async function awaitDelivery(
  fleet: Fleet,
  keys: string[],
  expected: number,
  timeoutMs = 60_000,
): Promise<Map<string, { count: number; last: bigint; first: bigint }>> {
  const totals = new Map<string, { count: number; last: bigint; first: bigint }>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const [key, entry] of await fleet.collect()) {
      const seen = totals.get(key);
      if (!seen) totals.set(key, { ...entry });
      else {
        seen.count += entry.count;
        if (entry.last > seen.last) seen.last = entry.last;
        if (entry.first < seen.first) seen.first = entry.first;
      }
    }
    if (keys.every((key) => (totals.get(key)?.count ?? 0) >= expected)) return totals;
    if (Date.now() > deadline) {
      const missing = keys.filter((key) => (totals.get(key)?.count ?? 0) < expected);
      throw new Error(`${missing.length} of ${keys.length} messages did not reach all ${expected} clients in time`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const msSince = (start: bigint, end: bigint) => Number(end - start) / 1e6;
