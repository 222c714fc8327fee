import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { TERMINAL_NAMESPACE } from '@lastmeter/contracts';
import { ConnectRefused, TerminalClient } from './terminal-client';

/** connect() against a real Socket.IO server that closes the socket before its hello. */
describe('TerminalClient.connect', () => {
  let http: HttpServer;
  let io: Server;
  let url: string;
  let onConnection: (socket: import('socket.io').Socket) => void;

  beforeAll(async () => {
    http = createServer();
    io = new Server(http);
    io.of(TERMINAL_NAMESPACE).on('connection', (socket) => onConnection(socket));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => io.close(resolve));
  });

  async function connectOutcome(): Promise<unknown> {
    const client = new TerminalClient({ url, token: 't', reconnection: false });
    try {
      return await client.connect();
    } catch (error) {
      return error;
    } finally {
      client.close();
    }
  }

  it('rejects as revoked when the terminal is revoked between handshake and hello', async () => {
    onConnection = (socket) => {
      socket.emit('revoked', { terminalId: 'x' });
      socket.disconnect(true);
    };
    const outcome = await connectOutcome();
    expect(outcome).toBeInstanceOf(ConnectRefused);
    expect((outcome as ConnectRefused).reason).toBe('terminal-revoked');
  });

  it('rejects when the gateway closes the socket before hello for another reason', async () => {
    onConnection = (socket) => socket.disconnect(true);
    const outcome = await connectOutcome();
    expect(outcome).toBeInstanceOf(ConnectRefused);
    expect((outcome as ConnectRefused).reason).toBe('unknown');
  });

  it('resolves with the hello when the gateway sends one', async () => {
    const hello = { storeId: 's', terminalId: 't', epoch: 'e', headSeq: 0 };
    onConnection = (socket) => socket.emit('hello', hello);
    expect(await connectOutcome()).toEqual(hello);
  });

  describe('the live set', () => {
    const hello = { storeId: 's', terminalId: 't', epoch: 'e', headSeq: 10, snapshot: 2 };
    const item = (feedSeq: number, extra: object = {}) => ({
      feedSeq,
      change: 'published',
      at: '2026-11-30T00:00:00.000Z',
      communication: { id: `c${feedSeq}`, revision: 1, kind: 'notice', title: 'T', body: 'B', priority: 'normal' },
      ...extra,
    });

    async function received(send: (socket: import('socket.io').Socket) => void) {
      const client = new TerminalClient({ url, token: 't', reconnection: false });
      const items: number[] = [];
      client.onItem((message) => items.push(message.feedSeq));
      const closed = new Promise<void>((resolve) => client.socket.on('disconnect', () => resolve()));
      onConnection = (socket) => {
        send(socket);
        setTimeout(() => socket.disconnect(true), 50);
      };
      await client.connect();
      await closed;
      client.close();
      return { items, position: client.position };
    }

    it('takes its head as the cursor once every item of it has arrived, then live items follow', async () => {
      const { items, position } = await received((socket) => {
        socket.emit('hello', hello);
        socket.emit('feed', item(3, { snapshot: true }));
        socket.emit('feed', item(7, { snapshot: true }));
        socket.emit('feed', item(11));
      });
      expect(items).toEqual([3, 7, 11]);
      expect(position).toBe(11);
    });

    it('asks for the live set in chunks and takes it so, each item handed over on its own, in order', async () => {
      let asked: unknown;
      const { items, position } = await received((socket) => {
        asked = socket.handshake.auth;
        socket.emit('hello', { ...hello, snapshot: 3 });
        socket.emit('feed.snapshot', { items: [item(2, { snapshot: true }), item(3, { snapshot: true })] });
        socket.emit('feed.snapshot', { items: [item(7, { snapshot: true })] });
        socket.emit('feed', item(11));
      });
      expect(asked).toMatchObject({ cursor: 0, snapshotChunks: true });
      expect(items).toEqual([2, 3, 7, 11]);
      expect(position).toBe(11);
    });

    it('keeps the cursor of before when a chunked live set is cut short', async () => {
      const { items, position } = await received((socket) => {
        socket.emit('hello', { ...hello, snapshot: 3 });
        socket.emit('feed.snapshot', { items: [item(2, { snapshot: true }), item(3, { snapshot: true })] });
      });
      expect(items).toEqual([2, 3]);
      expect(position).toBe(0);
    });

    it('keeps the cursor it had when the socket is lost half-way, so the next connect gets the live set again', async () => {
      const { items, position } = await received((socket) => {
        socket.emit('hello', hello);
        socket.emit('feed', item(3, { snapshot: true }));
      });
      expect(items).toEqual([3]);
      expect(position).toBe(0);
    });
  });

  it('connects again by itself when a reconnect is refused unavailable, with its cursor', async () => {
    const cursors: unknown[] = [];
    let refuse = 0;
    io.of(TERMINAL_NAMESPACE).use((_socket, next) => {
      if (refuse-- > 0) return next(Object.assign(new Error('try later'), { data: { reason: 'unavailable' } }));
      next();
    });
    onConnection = (socket) => {
      cursors.push(socket.handshake.auth.cursor);
      socket.emit('hello', { storeId: 's', terminalId: 't', epoch: 'e', headSeq: 3 });
      socket.emit('feed', {
        feedSeq: cursors.length,
        change: 'published',
        at: '2026-12-01T00:00:00.000Z',
        communication: { id: 'c', revision: 1, kind: 'notice', title: 't', body: '', priority: 'normal' },
      });
    };
    const client = new TerminalClient({ url, token: 't', unavailableRetryMs: 50 });
    try {
      await client.connect();
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The connection drops (not a server disconnect), and the next two handshakes are
      // refused: the client keeps coming back.
      refuse = 2;
      for (const socket of io.of(TERMINAL_NAMESPACE).sockets.values()) socket.conn.close();
      for (let i = 0; i < 100 && cursors.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(cursors).toEqual([0, 1]);
      expect(refuse).toBeLessThan(0);
    } finally {
      client.close();
    }
  });
});
