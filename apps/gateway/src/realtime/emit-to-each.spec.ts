import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { emitToEach } from './emit-to-each';

/** A real Socket.IO server on loopback with `n` WebSocket clients on `/terminal`. */
async function serverWith(n: number) {
  const http: HttpServer = createServer();
  const server = new Server(http);
  const sockets: Socket[] = [];
  server.of('/terminal').on('connection', (socket) => sockets.push(socket));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/terminal`;
  const clients: ClientSocket[] = [];
  for (let i = 0; i < n; i++) {
    const client = connect(url, { transports: ['websocket'], reconnection: false, query: { i: String(i) } });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('connect_error', reject);
    });
    clients.push(client);
  }
  // The server's sockets, in the clients' order.
  const byClient = clients.map((client) => sockets.find((socket) => socket.id === client.id)!);
  return {
    server,
    sockets: byClient,
    clients,
    close: async () => {
      for (const client of clients) client.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** What each client received of `event`, after a round trip that follows it. */
function recorder(clients: ClientSocket[], event: string) {
  const received: unknown[][] = clients.map(() => []);
  clients.forEach((client, i) => client.on(event, (data: unknown) => received[i]!.push(data)));
  return received;
}

describe('emitToEach: one message to many sockets, encoded once, as nsp.to(ids).emit sends it', () => {
  let stack: Awaited<ReturnType<typeof serverWith>>;
  beforeEach(async () => {
    stack = await serverWith(4);
  });
  afterEach(() => stack.close());

  const settled = () => new Promise((resolve) => setTimeout(resolve, 50));

  it('reaches the sockets given, in order, and no other', async () => {
    const feed = recorder(stack.clients, 'feed');
    const item = { feedSeq: 7, communication: { id: 'c', title: 'Prix du café', body: 'é'.repeat(300) } };
    emitToEach([stack.sockets[0]!, stack.sockets[2]!], 'feed', item);
    emitToEach([stack.sockets[0]!, stack.sockets[2]!], 'feed', { ...item, feedSeq: 8 });
    await settled();
    expect(feed).toEqual([[item, { ...item, feedSeq: 8 }], [], [item, { ...item, feedSeq: 8 }], []]);
  });

  it('sends what the adapter broadcast sends, event and payload alike', async () => {
    const ours = recorder(stack.clients.slice(0, 2), 'feed.items');
    const theirs = recorder(stack.clients.slice(2), 'feed.items');
    const payload = {
      items: [
        { feedSeq: 1, hidden: true },
        { feedSeq: 2, at: '2026-12-07T00:00:00.000Z' },
      ],
    };
    emitToEach(stack.sockets.slice(0, 2), 'feed.items', payload);
    stack.server.of('/terminal').to([stack.sockets[2]!.id, stack.sockets[3]!.id]).emit('feed.items', payload);
    await settled();
    expect(ours).toEqual([[payload], [payload]]);
    expect(theirs).toEqual(ours);
  });

  it('skips a socket that disconnected meanwhile and still reaches the others', async () => {
    const feed = recorder(stack.clients, 'feed');
    const gone = stack.sockets[1]!;
    gone.disconnect(true);
    expect(gone.connected).toBe(false);
    emitToEach(stack.sockets, 'feed', { feedSeq: 1 });
    await settled();
    expect(feed).toEqual([[{ feedSeq: 1 }], [], [{ feedSeq: 1 }], [{ feedSeq: 1 }]]);
  });

  it('reaches a single socket alone', async () => {
    const feed = recorder(stack.clients, 'feed');
    emitToEach([stack.sockets[3]!], 'feed', { feedSeq: 5 });
    await settled();
    expect(feed).toEqual([[], [], [], [{ feedSeq: 5 }]]);
  });

  it('does nothing for no sockets', () => {
    expect(() => emitToEach([], 'feed', { feedSeq: 1 })).not.toThrow();
  });

  it("relies on the adapter's _encode, which socket.io-adapter's adapters have (fails on an upgrade that drops it)", () => {
    const adapter = stack.server.of('/terminal').adapter as unknown as { _encode?: unknown };
    expect(typeof adapter._encode).toBe('function');
  });
});
