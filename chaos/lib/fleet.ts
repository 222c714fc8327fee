import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { TerminalRecord, TerminalSpec, TerminalsCommand, TerminalsReply } from './terminals';

/** The terminals of a chaos run, spread over load processes of their own (chaos/lib/terminals.ts). */
export class TerminalFleet {
  private readonly children: ChildProcess[];

  constructor(processes: number) {
    this.children = Array.from({ length: processes }, () =>
      fork(join(__dirname, 'terminals.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
  }

  private ask<T extends TerminalsReply['type']>(
    child: ChildProcess,
    command: TerminalsCommand,
    type: T,
  ): Promise<Extract<TerminalsReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: TerminalsReply) => {
        if (reply.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(reply as Extract<TerminalsReply, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`terminal process exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(command);
    });
  }

  async connect(url: string, terminals: TerminalSpec[]): Promise<void> {
    const share = Math.ceil(terminals.length / this.children.length);
    const replies = await Promise.all(
      this.children.map((child, i) =>
        this.ask(child, { type: 'connect', url, terminals: terminals.slice(i * share, (i + 1) * share) }, 'connected'),
      ),
    );
    const connected = replies.reduce((n, r) => n + r.connected, 0);
    if (connected !== terminals.length)
      throw new Error(
        `${terminals.length - connected} terminals failed to connect: ${replies.flatMap((r) => r.errors).join('; ')}`,
      );
  }

  /** Drops `count` connections (spread over the processes); each comes back within a second. */
  async reconnect(count: number): Promise<void> {
    const share = Math.ceil(count / this.children.length);
    await Promise.all(
      this.children.map((child) => this.ask(child, { type: 'reconnect', count: share }, 'reconnected')),
    );
  }

  async report(): Promise<{ terminals: TerminalRecord[]; pendingReceipts: number }> {
    const replies = await Promise.all(this.children.map((child) => this.ask(child, { type: 'report' }, 'report')));
    return {
      terminals: replies.flatMap((r) => r.terminals),
      pendingReceipts: replies.reduce((n, r) => n + r.pendingReceipts, 0),
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map((child) => this.ask(child, { type: 'close' }, 'closed').catch(() => undefined)),
    );
  }
}
