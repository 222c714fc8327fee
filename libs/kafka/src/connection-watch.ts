import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ISocketFactory } from 'kafkajs';

/** kafkajs's own keep-alive delay for its sockets (src/network/socketFactory.js). */
const KEEP_ALIVE_MS = 60_000;
/** How often a lost broker is tried again while no connection of the client is open. */
const PROBE_EVERY_MS = 1_000;
/**
 * The first try, after the last connection ended: not at once, so a broker that is
 * stopping (closing its connections, then its listener) is not found still there.
 */
const FIRST_PROBE_MS = 200;

/**
 * Watches the TCP connections of one kafkajs client (`socketFactory`, kafkajs's own
 * factory plus listeners): whether any is open, and so whether the brokers it spoke to
 * are still there. A broker process that dies or is stopped closes its connections at
 * once (the kernel ends them), long before kafkajs's retries give up: a caller about to
 * start work that would wait out those retries (a transaction in an HTTP request) can
 * ask first and take a path that fails fast instead.
 *
 * A broker also closes connections that stayed idle (`connections.max.idle.ms`, 10 min
 * by default), and kafkajs opens them again only for its next request. So once the last
 * connection has ended, the watch itself tries the broker that closed it, every second,
 * until a connection is made (its own, closed at once, or the client's): an idle close
 * counts as lost only until the first try, 200 ms later.
 *
 * Only what the sockets say: a broker cut off without its connections ending (a network
 * partition) still counts as reachable until the connections time out.
 */
export class ConnectionWatch {
  private open = 0;
  /** Set when the last open connection ended; cleared by the next one made. */
  private lost = false;
  private probe?: NodeJS.Timeout;

  readonly socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    const socket: net.Socket = ssl
      ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
      : net.connect({ host, port }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_MS);
    let counted = false;
    socket.once(ssl ? 'secureConnect' : 'connect', () => {
      counted = true;
      this.open++;
      this.connected();
    });
    socket.once('close', () => {
      if (!counted) return;
      this.open--;
      if (this.open > 0) return;
      this.lost = true;
      this.tryAgain(host, port, FIRST_PROBE_MS);
    });
    return socket;
  };

  /**
   * False once every connection this client had has ended and none was made since (nor
   * by the watch's own tries): the brokers went away. True before the first connection.
   */
  reachable(): boolean {
    return !this.lost;
  }

  /** Stops trying a lost broker (the client is closed for good). */
  close(): void {
    clearTimeout(this.probe);
    this.probe = undefined;
  }

  private connected(): void {
    this.lost = false;
    this.close();
  }

  /** One plain TCP connection to the broker that was lost, after `delayMs`; again until one is made. */
  private tryAgain(host: string, port: number, delayMs: number): void {
    clearTimeout(this.probe);
    this.probe = setTimeout(() => {
      this.probe = undefined;
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        if (this.open === 0) this.connected();
      });
      socket.once('error', () => {
        socket.destroy();
        if (this.lost && this.open === 0) this.tryAgain(host, port, PROBE_EVERY_MS);
      });
    }, delayMs).unref();
  }
}
