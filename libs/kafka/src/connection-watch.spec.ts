import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ConnectionWatch } from './connection-watch';

/** A TCP server on loopback standing in for a broker: it accepts and can drop every connection. */
class FakeBroker {
  readonly accepted: Socket[] = [];
  private server?: Server;

  constructor(public port = 0) {}

  async start(): Promise<this> {
    const server = createServer((socket) => this.accepted.push(socket));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Ends every connection and stops listening, as a broker process that dies. */
  async stop(): Promise<void> {
    for (const socket of this.accepted.splice(0)) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
    this.server = undefined;
  }
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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `watch` says reachable; rejects after 5 s. */
async function reachableAgain(watch: ConnectionWatch): Promise<void> {
  for (const deadline = Date.now() + 5_000; !watch.reachable(); await sleep(20))
    if (Date.now() > deadline) throw new Error('still unreachable after 5 s');
}

describe('ConnectionWatch', () => {
  let broker: FakeBroker;
  let watch: ConnectionWatch;

  beforeEach(async () => {
    broker = await new FakeBroker().start();
    watch = new ConnectionWatch();
  });

  afterEach(async () => {
    watch.close();
    await broker.stop();
  });

  it('counts as reachable before any connection and while one is open', async () => {
    expect(watch.reachable()).toBe(true);
    const socket = await connect(watch, broker.port);
    expect(watch.reachable()).toBe(true);
    socket.destroy();
  });

  it('turns unreachable when the broker goes away, and reachable when it is back (its own tries, or the next connection)', async () => {
    const [a, b] = [await connect(watch, broker.port), await connect(watch, broker.port)];
    await sleep(10);
    broker.accepted[0]!.destroy();
    await closed(a);
    expect(watch.reachable()).toBe(true);
    const port = broker.port;
    await broker.stop();
    await closed(b);
    expect(watch.reachable()).toBe(false);
    // Its tries (200 ms, then every second) are refused while nothing listens.
    await sleep(400);
    expect(watch.reachable()).toBe(false);

    broker = await new FakeBroker(port).start();
    await reachableAgain(watch);
  });

  it('takes an idle connection closed by a broker that is still there as lost only until its first try', async () => {
    const socket = await connect(watch, broker.port);
    await sleep(10);
    broker.accepted[0]!.destroy();
    await closed(socket);
    expect(watch.reachable()).toBe(false);
    await reachableAgain(watch);
  });

  it('does not count a connection that was never made (refused) as lost or as open', async () => {
    const port = broker.port;
    await broker.stop();
    await expect(connect(watch, port)).rejects.toThrow(/ECONNREFUSED/);
    expect(watch.reachable()).toBe(true);
    broker = await new FakeBroker().start();
  });
});
