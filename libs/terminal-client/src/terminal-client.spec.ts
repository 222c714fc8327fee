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
});
