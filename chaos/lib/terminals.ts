/**
 * A chaos load process (forked with IPC; chaos/lib/fleet.ts drives it): connects store
 * terminals with Last Meter's terminal client, records every feed message exactly as it
 * arrives on the socket (before the client's own de-duplication, as a native app's
 * Socket.IO client would see it), answers each new item with a `delivered` receipt, and
 * drops and restores connections on request (reconnects resume by cursor).
 */
import type { FeedItems, FeedMessage, LiveSetChunk } from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';

export interface TerminalSpec {
  terminalId: string;
  storeId: string;
  token: string;
}

/** What one terminal saw: every message as it came (feedSeq, communication id or '' when hidden, ms). */
export interface TerminalRecord {
  terminalId: string;
  storeId: string;
  seqs: number[];
  ids: string[];
  at: number[];
  /** How each message came: `feed`, `feed.items` or `feed.snapshot`, `+reset` if so marked, and `#<n>` the connection it came on. */
  via: string[];
  /** Communication ids whose `delivered` receipt the gateway acknowledged. */
  acked: string[];
  /** Receipts refused, or never acknowledged after the client's retries. */
  receiptErrors: string[];
  reconnects: number;
}

export type TerminalsCommand =
  | { type: 'connect'; url: string; terminals: TerminalSpec[] }
  | { type: 'reconnect'; count: number }
  | { type: 'report' }
  | { type: 'close' };

export type TerminalsReply =
  | { type: 'connected'; connected: number; errors: string[] }
  | { type: 'reconnected' }
  | { type: 'report'; terminals: TerminalRecord[]; pendingReceipts: number }
  | { type: 'closed' };

interface Terminal {
  client: TerminalClient;
  record: TerminalRecord;
}

const terminals: Terminal[] = [];
let pendingReceipts = 0;

function watch(spec: TerminalSpec, url: string): Terminal {
  const client = new TerminalClient({ url, token: spec.token, cursors: new MemoryCursorStore(), attempts: 20 });
  const record: TerminalRecord = {
    terminalId: spec.terminalId,
    storeId: spec.storeId,
    seqs: [],
    ids: [],
    at: [],
    via: [],
    acked: [],
    receiptErrors: [],
    reconnects: 0,
  };
  let connection = 0;
  client.socket.on('connect', () => connection++);
  const raw = (event: string, messages: FeedMessage[]) => {
    for (const message of messages) {
      record.seqs.push(message.feedSeq);
      record.ids.push('communication' in message ? message.communication.id : '');
      record.at.push(Date.now());
      record.via.push(`${event}${message.reset ? '+reset' : ''}#${connection}`);
    }
  };
  client.socket.on('feed', (message: FeedMessage) => raw('feed', [message]));
  client.socket.on('feed.snapshot', (chunk: LiveSetChunk) => raw('feed.snapshot', chunk.items));
  // Items due at once (a backlog after a reconnect, a burst) come as one `feed.items`: the
  // client asks for it (auth.feedBatches). Not recording them counted them as lost.
  client.socket.on('feed.items', (batch: FeedItems) => raw('feed.items', batch.items));
  client.socket.io.on('reconnect', () => record.reconnects++);
  client.onItem((message) => {
    if (!('communication' in message)) return;
    const { id, revision } = message.communication;
    pendingReceipts++;
    client
      .receipt({ communicationId: id, revision, kind: 'delivered' })
      .then((ack) => {
        if (ack.ok) record.acked.push(id);
        else record.receiptErrors.push(`${id}: ${ack.error?.message}`);
      })
      .catch((error: Error) => record.receiptErrors.push(`${id}: ${error.message}`))
      .finally(() => pendingReceipts--);
  });
  return { client, record };
}

function reply(message: TerminalsReply): void {
  process.send!(message);
}

// A load process never outlives its coordinator: a chaos run stopped with Ctrl-C (or
// killed) must not leave terminals reconnecting in the background.
process.on('disconnect', () => process.exit(0));

process.on('message', (command: TerminalsCommand) => {
  switch (command.type) {
    case 'connect': {
      const errors: string[] = [];
      let connected = 0;
      void Promise.all(
        command.terminals.map(async (spec) => {
          const terminal = watch(spec, command.url);
          terminals.push(terminal);
          try {
            await terminal.client.connect();
            connected++;
          } catch (error) {
            errors.push(`${spec.terminalId}: ${(error as Error).message}`);
          }
        }),
      ).then(() => reply({ type: 'connected', connected, errors: errors.slice(0, 5) }));
      return;
    }
    case 'reconnect': {
      // A dropped network: the socket closes, and opens again a moment later with the cursor.
      for (let i = 0; i < command.count && terminals.length > 0; i++) {
        const { client, record } = terminals[Math.floor(Math.random() * terminals.length)]!;
        client.socket.disconnect();
        record.reconnects++;
        setTimeout(() => client.socket.connect(), 200 + Math.random() * 800);
      }
      reply({ type: 'reconnected' });
      return;
    }
    case 'report':
      reply({ type: 'report', terminals: terminals.map((t) => t.record), pendingReceipts });
      return;
    case 'close':
      for (const { client } of terminals) client.close();
      reply({ type: 'closed' });
      setTimeout(() => process.exit(0), 100);
      return;
  }
});
