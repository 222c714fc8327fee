import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ISocketFactory } from 'kafkajs';

/** kafkajs's own keep-alive delay for its sockets (src/network/socketFactory.js). */
const KEEP_ALIVE_MS = 60_000;

/**
 * Watches the TCP connections of one kafkajs client (`socketFactory`, kafkajs's own
 * factory plus two listeners): whether any is open, and so whether the brokers it spoke
 * to are still there. A broker process that dies or is stopped closes its connections at
 * once (the kernel ends them), long before kafkajs's retries give up: a caller about to
 * start work that would wait out those retries (a transaction in an HTTP request) can
 * ask first and take a path that fails fast instead.
 *
 * Only what the sockets say: a broker cut off without its connections ending (a network
 * partition) still counts as reachable until the connections time out.
 */
export class ConnectionWatch {
  private open = 0;
  /** Set when the last open connection ended; cleared by the next one made. */
  private lostAt?: number;

  readonly socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    const socket: net.Socket = ssl
      ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
      : net.connect({ host, port }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_MS);
    let counted = false;
    socket.once(ssl ? 'secureConnect' : 'connect', () => {
      counted = true;
      this.open++;
      this.lostAt = undefined;
    });
    socket.once('close', () => {
      if (!counted) return;
      this.open--;
      if (this.open === 0) this.lostAt = Date.now();
    });
    return socket;
  };

  /**
   * False once every connection this client had has ended and none was made since: the
   * brokers went away (or this client closed them all, e.g. while it has no producer).
   * True before the first connection.
   */
  reachable(): boolean {
    return this.lostAt === undefined;
  }
}
