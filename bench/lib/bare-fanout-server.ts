/**
 * The fan-out floor: the least a server can do to push one message to N connected
 * clients, from memory, in its own process like the gateway. `socketio`: a Socket.IO
 * server emitting `feed` to every socket of `/terminal` (one encode, N writes); `ws`: a
 * raw WebSocket server sending one pre-serialised string to every client.
 * IPC: `{ type: 'broadcast', seq }` → sends; `{ type: 'memory' }` → process.memoryUsage() (after
 * a full collection when forked with --expose-gc).
 * Prints nothing; replies `{ type: 'ready', port }`.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { WebSocketServer } from 'ws';
import { samplePayload } from './payload';

const kind = process.argv[2] as 'socketio' | 'ws';
const http = createServer();
let broadcast: (seq: number) => void;

if (kind === 'ws') {
  const wss = new WebSocketServer({ server: http });
  broadcast = (seq) => {
    const text = JSON.stringify({ seq, ...samplePayload() });
    for (const client of wss.clients) client.send(text);
  };
} else {
  const io = new Server(http, { transports: ['websocket'] });
  const terminals = io.of('/terminal');
  terminals.on('connection', (socket) => socket.emit('hello', { epoch: 'bare', headSeq: 0 }));
  broadcast = (seq) => terminals.emit('feed', { seq, ...samplePayload() });
}

// A load process never outlives its coordinator (a crashed benchmark must not leave
// clients reconnecting in the background and skewing the next run).
process.on('disconnect', () => process.exit(0));
// Stopped (stopChild): exit normally, so that flags like --cpu-prof write their output.
process.on('SIGTERM', () => process.exit(0));

process.on('message', (message: { type: 'broadcast'; seq: number } | { type: 'memory' }) => {
  if (message.type === 'broadcast') broadcast(message.seq);
  else {
    // A full collection first (forked with --expose-gc), as the gateway gets in the memory
    // benchmark: both heaps are then what is live.
    (globalThis as { gc?: () => void }).gc?.();
    process.send!({ type: 'memory', ...process.memoryUsage() });
  }
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  process.send!({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
});
