/**
 * A load generator process (forked with IPC): opens many client connections to a server
 * under test and records, per message key, how many clients received it and when the
 * last and first did (process.hrtime: CLOCK_MONOTONIC, the same clock in every process
 * of the machine, so the coordinator can compare it with its own send time).
 *
 * kinds: `socketio` (bare Socket.IO `/terminal`, event `feed` with `seq`), `ws` (raw
 * WebSocket, JSON with `seq`), `terminal` (Last Meter's typed terminal client; the key is
 * the communication id).
 *
 * `receipts` has every connected terminal send receipts for one communication, each
 * kind once its previous one was acked, all terminals at once, and answers with each
 * ack's latency and the first send and last ack (hrtime ns). `send-receipts` has every
 * terminal send the same list of receipts, `batch` items per message (`receipt` one at a
 * time, or `receipts { items }`), each message once the previous one was acked, and
 * counts the items. Like a real client it resends, after a pause, the items answered
 * with a retryable error (busy, rate-limited, not confirmed), and counts those resends.
 */
import WebSocket from 'ws';
import { io, type Socket } from 'socket.io-client';
import {
  isRetryable,
  RATE_LIMITED,
  type Ack,
  type ReceiptKind,
  type ReceiptPayload,
  type ReceiptsAck,
} from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';

export type ClientKind = 'socketio' | 'ws' | 'terminal';

export type LoadCommand =
  | {
      type: 'connect';
      kind: ClientKind;
      url: string;
      /** One entry per client: its token and cursor (terminal) or nothing. */
      clients: Array<{ token?: string; cursor?: number }>;
      batch?: number;
    }
  | { type: 'collect' }
  | { type: 'receipts'; communicationId: string; revision: number; kinds: ReceiptKind[]; timeoutMs?: number }
  | {
      type: 'send-receipts';
      items: ReceiptPayload[];
      /** `receipt`: one item per message; `receipts`: `batch` items per message. */
      event: 'receipt' | 'receipts';
      batch: number;
      timeoutMs?: number;
    }
  | { type: 'close' };

export type LoadReply =
  | { type: 'connected'; connected: number; failed: number; errors: string[] }
  | { type: 'collected'; received: Record<string, { count: number; first: string; last: string }> }
  | {
      type: 'receipted';
      /** Acks with ok: true. */
      acked: number;
      /** Acks with ok: false, of which `rateLimited` said rate-limited. */
      refused: number;
      rateLimited: number;
      /** No ack within the timeout, or the socket was gone. */
      failed: number;
      errors: string[];
      /** send-receipts: items sent again after a retryable answer, and the answers that caused it. */
      resent?: number;
      retryReasons?: Record<string, number>;
      /** Latency of each ok ack (of each message, for send-receipts), ms. */
      latencies: number[];
      /** hrtime ns of the first send and of the last ack. */
      started: string;
      finished: string;
    }
  | { type: 'closed' };

interface Closable {
  close(): void;
}

const received = new Map<string, { count: number; first: bigint; last: bigint }>();
const open: Closable[] = [];
const terminals: TerminalClient[] = [];

function record(key: string): void {
  const now = process.hrtime.bigint();
  const entry = received.get(key);
  if (entry) {
    entry.count++;
    entry.last = now;
  } else {
    received.set(key, { count: 1, first: now, last: now });
  }
}

function connectOne(kind: ClientKind, url: string, client: { token?: string; cursor?: number }): Promise<Closable> {
  return new Promise((resolve, reject) => {
    if (kind === 'ws') {
      const socket = new WebSocket(url);
      socket.on('message', (data) => record(String((JSON.parse(data.toString()) as { seq: number }).seq)));
      socket.once('open', () => resolve({ close: () => socket.terminate() }));
      socket.once('error', reject);
    } else if (kind === 'socketio') {
      const socket: Socket = io(`${url}/terminal`, { transports: ['websocket'], reconnection: false });
      socket.on('feed', (item: { seq: number }) => record(String(item.seq)));
      socket.once('hello', () => resolve({ close: () => socket.disconnect() }));
      socket.once('connect_error', reject);
    } else {
      const terminal = new TerminalClient({
        url,
        token: client.token!,
        cursors: new MemoryCursorStore({ cursor: client.cursor ?? 0 }),
      });
      terminal.onItem((item) => {
        if ('communication' in item) record(item.communication.id);
      });
      // The server closing the socket (a revocation): `closed:<terminal id>` (the token's sub).
      const terminalId = (
        JSON.parse(Buffer.from(client.token!.split('.')[1]!, 'base64url').toString()) as { sub: string }
      ).sub;
      terminal.socket.on('disconnect', (reason) => {
        if (reason === 'io server disconnect') record(`closed:${terminalId}`);
      });
      terminal.connect().then(() => {
        terminals.push(terminal);
        resolve(terminal);
      }, reject);
    }
  });
}

// A load process never outlives its coordinator (a crashed benchmark must not leave
// clients reconnecting in the background and skewing the next run).
process.on('disconnect', () => process.exit(0));
// Stopped (stopChild): exit normally, so that flags like --cpu-prof write their output.
process.on('SIGTERM', () => process.exit(0));

process.on('message', (command: LoadCommand) => {
  void (async () => {
    const reply = (message: LoadReply) => process.send!(message);
    switch (command.type) {
      case 'connect': {
        // In batches: a real fleet does not connect in the same millisecond either, and
        // one batch at a time keeps handshakes from timing out on a 2-core machine.
        const batch = command.batch ?? 250;
        let failed = 0;
        const errors: string[] = [];
        for (let i = 0; i < command.clients.length; i += batch) {
          const results = await Promise.allSettled(
            command.clients.slice(i, i + batch).map((client) => connectOne(command.kind, command.url, client)),
          );
          for (const result of results) {
            if (result.status === 'fulfilled') open.push(result.value);
            else if (errors.push(String((result.reason as Error)?.message ?? result.reason)) && ++failed) continue;
          }
        }
        reply({ type: 'connected', connected: command.clients.length - failed, failed, errors: errors.slice(0, 5) });
        return;
      }
      case 'collect': {
        const out: Record<string, { count: number; first: string; last: string }> = {};
        for (const [key, entry] of received)
          out[key] = { count: entry.count, first: String(entry.first), last: String(entry.last) };
        received.clear();
        reply({ type: 'collected', received: out });
        return;
      }
      case 'receipts': {
        // The raw emit (not TerminalClient.receipt, which waits and resends when rate
        // limited), so that every refusal is counted instead of hidden in a retry.
        const latencies: number[] = [];
        const errors = new Set<string>();
        let acked = 0;
        let refused = 0;
        let rateLimited = 0;
        let failed = 0;
        const started = process.hrtime.bigint();
        await Promise.all(
          terminals.map(async (terminal) => {
            for (const kind of command.kinds) {
              const t0 = process.hrtime.bigint();
              try {
                const ack = (await terminal.socket.timeout(command.timeoutMs ?? 60_000).emitWithAck('receipt', {
                  communicationId: command.communicationId,
                  kind,
                  revision: command.revision,
                })) as Ack;
                if (ack.ok) {
                  acked++;
                  latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
                } else {
                  refused++;
                  if (ack.error?.message === RATE_LIMITED) rateLimited++;
                  errors.add(ack.error?.message ?? 'refused');
                }
              } catch (error) {
                failed++;
                errors.add((error as Error).message);
              }
            }
          }),
        );
        const finished = process.hrtime.bigint();
        reply({
          type: 'receipted',
          acked,
          refused,
          rateLimited,
          failed,
          errors: [...errors].slice(0, 5),
          latencies,
          started: String(started),
          finished: String(finished),
        });
        return;
      }
      case 'send-receipts': {
        // Raw emits, every answer counted; retryable item answers are resent after a
        // pause (1 s when rate-limited, busy or not confirmed, 200 ms otherwise, more each
        // time, give or take half) as TerminalClient does.
        const latencies: number[] = [];
        const errors = new Set<string>();
        const retryReasons: Record<string, number> = {};
        let acked = 0;
        let refused = 0;
        let rateLimited = 0;
        let failed = 0;
        let resent = 0;
        const deadline = Date.now() + (command.timeoutMs ?? 60_000);
        const batch = command.event === 'receipt' ? 1 : command.batch;
        const started = process.hrtime.bigint();
        const sendOnce = async (terminal: TerminalClient, items: ReceiptPayload[]): Promise<Ack[]> => {
          const timed = terminal.socket.timeout(Math.max(1, deadline - Date.now()));
          if (command.event === 'receipt') return [(await timed.emitWithAck('receipt', items[0])) as Ack];
          const ack = (await timed.emitWithAck('receipts', { items })) as ReceiptsAck;
          return ack.ok ? ack.results : items.map(() => ({ ok: false, error: ack.error }));
        };
        await Promise.all(
          terminals.map(async (terminal) => {
            for (let i = 0; i < command.items.length; i += batch) {
              let items = command.items.slice(i, i + batch);
              const t0 = process.hrtime.bigint();
              try {
                for (let attempt = 1; items.length > 0; attempt++) {
                  const acks = await sendOnce(terminal, items);
                  const again: ReceiptPayload[] = [];
                  let pause = 0;
                  acks.forEach((ack, j) => {
                    if (ack.ok) acked++;
                    else if (isRetryable(ack.error) && Date.now() < deadline) {
                      again.push(items[j]);
                      const reason = ack.error!.message.slice(0, 30);
                      retryReasons[reason] = (retryReasons[reason] ?? 0) + 1;
                      const saturated = /^(rate-limited|busy|not confirmed)/.test(ack.error!.message);
                      pause = Math.max(pause, (saturated ? 1_000 : 200) * attempt * (0.5 + Math.random()));
                    } else {
                      refused++;
                      if (ack.error?.message === RATE_LIMITED) rateLimited++;
                      errors.add(ack.error?.message ?? 'refused');
                    }
                  });
                  resent += again.length;
                  items = again;
                  if (items.length > 0) await new Promise((resolve) => setTimeout(resolve, pause));
                }
                latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
              } catch (error) {
                failed += items.length;
                errors.add((error as Error).message);
              }
            }
          }),
        );
        const finished = process.hrtime.bigint();
        reply({
          type: 'receipted',
          acked,
          refused,
          rateLimited,
          failed,
          resent,
          retryReasons,
          errors: [...errors].slice(0, 5),
          latencies,
          started: String(started),
          finished: String(finished),
        });
        return;
      }
      case 'close':
        terminals.splice(0);
        for (const client of open.splice(0)) client.close();
        reply({ type: 'closed' });
        setTimeout(() => process.exit(0), 100);
        return;
    }
  })();
});
