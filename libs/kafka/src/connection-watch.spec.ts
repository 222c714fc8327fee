import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ConnectionWatch } from './connection-watch';

/** A TCP server on loopback standing in for a broker: it accepts and can drop every connection. */
async function listen(): Promise<{ server: Server; port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, accepted };
}

const connect = (watch: ConnectionWatch, port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = watch.socketFactory({
      host: '127.0.0.1',
      port,
      ssl: false as never,
      onConnect: () => resolve(socket),
    });
    socket.once('error', reject);
  });

const closed = (socket: Socket) => new Promise((resolve) => socket.once('close', resolve));

describe('ConnectionWatch', () => {
  let broker: Awaited<ReturnType<typeof listen>>;

  beforeEach(async () => {
    broker = await listen();
  });

  afterEach(async () => {
    for (const socket of broker.accepted) socket.destroy();
    await new Promise((resolve) => broker.server.close(resolve));
  });

  it('counts as reachable before any connection and while one is open', async () => {
    const watch = new ConnectionWatch();
    expect(watch.reachable()).toBe(true);
    const socket = await connect(watch, broker.port);
    expect(watch.reachable()).toBe(true);
    socket.destroy();
  });

  it('turns unreachable when the last open connection is ended by the other side, and reachable on the next one', async () => {
    const watch = new ConnectionWatch();
    const [a, b] = [await connect(watch, broker.port), await connect(watch, broker.port)];
    await new Promise((resolve) => setImmediate(resolve));
    broker.accepted[0]!.destroy();
    await closed(a);
    expect(watch.reachable()).toBe(true);
    broker.accepted[1]!.destroy();
    await closed(b);
    expect(watch.reachable()).toBe(false);

    const again = await connect(watch, broker.port);
    expect(watch.reachable()).toBe(true);
    again.destroy();
  });

  it('does not count a connection that was never made (refused) as lost or as open', async () => {
    const watch = new ConnectionWatch();
    const port = broker.port;
    await new Promise((resolve) => broker.server.close(resolve));
    await expect(connect(watch, port)).rejects.toThrow(/ECONNREFUSED/);
    expect(watch.reachable()).toBe(true);
    broker = await listen();
  });
});
