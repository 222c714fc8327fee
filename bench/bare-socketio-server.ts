/**
 * The reconnect-storm baseline: a bare Socket.IO server (its own process, like the
 * gateway) that holds every store's feed in memory and, on connect, sends the items
 * after the client's cursor, with the same `hello` / `feed` messages as the gateway.
 * Feeds arrive as JSON on stdin; it prints its port on stdout.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

async function main(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const feeds = new Map<string, Array<{ feedSeq: number }>>(Object.entries(JSON.parse(input)));
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  io.of('/terminal').on('connection', (socket) => {
    const { storeId, cursor } = socket.handshake.auth as { storeId: string; cursor: number };
    const feed = feeds.get(storeId) ?? [];
    socket.emit('hello', { epoch: 'bare', headSeq: feed.length, storeId, terminalId: socket.id });
    for (const item of feed) if (item.feedSeq > cursor) socket.emit('feed', item);
  });
  // The apps' listen backlog (LISTEN_BACKLOG, libs/platform), not Node's default of 511:
  // with 511 the storm overflowed this server's accept queue (374–2,162 times a run, none
  // on the gateway), and the SYN retries that cost made the baseline slower than it is.
  http.listen(0, '127.0.0.1', 4_096, () => {
    const address = http.address();
    process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
  });
}

void main();
