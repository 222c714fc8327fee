import { ServerResponse } from 'node:http';
import { IoAdapter } from '@nestjs/platform-socket.io';

/** The Socket.IO server type of Nest's adapter (it depends on its own socket.io copy). */
type NestIoServer = ReturnType<IoAdapter['createIOServer']> & {
  engine: {
    use(middleware: unknown): void;
    on(event: 'connection', listener: (raw: { request?: unknown }) => void): void;
  };
};

/**
 * Nest's Socket.IO adapter, minus what it keeps on every socket for nothing, and minus
 * the first HTTP request Socket.IO and engine.io keep for each connection's lifetime.
 * At 10,000 terminals per gateway these are most of the memory per connection beyond
 * Socket.IO's own (bench/PROFILE.md):
 *
 * - Nest builds a `disconnect$` observable (fromEvent → share → first) for every socket,
 *   held in a WeakMap, even for a gateway without @SubscribeMessage handlers. `/terminal`
 *   has none (its listeners are plain, see TerminalGateway): no handlers, no observable.
 * - engine.io keeps the upgrade request twice: as `conn.request`, and as the `req` of the
 *   WebSocketResponse it lends its middlewares, reachable from the TCP socket's `close`
 *   listener. Nothing here reads the request after the handshake (credentials come in the
 *   CONNECT packet as `handshake.auth`; Socket.IO builds `handshake` without it), so both
 *   references are dropped once the connection is made: Socket.IO's memory-usage guide,
 *   https://socket.io/docs/v4/memory-usage/.
 */
export class LeanIoAdapter extends IoAdapter {
  override createIOServer(...args: Parameters<IoAdapter['createIOServer']>): NestIoServer {
    const server = super.createIOServer(...args) as NestIoServer;
    // The response engine.io lends its middlewares, by request, until the connection is
    // made (a WeakMap: a request that never connects takes its entry with it).
    const responses = new WeakMap<object, { req?: unknown }>();
    server.engine.use((req: object, res: { req?: unknown }, next: () => void) => {
      // Only a WebSocket upgrade's stand-in; a long-polling request's real response is Node's.
      if (!(res instanceof ServerResponse)) responses.set(req, res);
      next();
    });
    server.engine.on('connection', (raw: { request?: object }) => {
      const response = raw.request && responses.get(raw.request);
      if (response) response.req = undefined;
      raw.request = undefined;
    });
    return server;
  }

  override bindMessageHandlers(...args: Parameters<IoAdapter['bindMessageHandlers']>): void {
    const [, handlers] = args;
    if (handlers.length > 0) super.bindMessageHandlers(...args);
  }
}
