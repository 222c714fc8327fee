import type { FeedMessage } from '@lastmeter/contracts';
import { ConnectRefused, MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import type { Publisher } from './write-api';

/** An enrolled terminal of `storeId`, connected to `gatewayUrl`, recording every item it gets. */
export async function recordingTerminal(
  api: Publisher,
  gatewayUrl: string,
  storeId: string,
  clients: TerminalClient[],
): Promise<{ storeId: string; received: FeedMessage[] }> {
  const { token } = await api.terminal(storeId);
  const client = new TerminalClient({ url: gatewayUrl, token, cursors: new MemoryCursorStore() });
  clients.push(client);
  const received: FeedMessage[] = [];
  client.onItem((item) => received.push(item));
  await client.connect();
  return { storeId, received };
}

/** How a handshake with `token` ends: 'connected', or the reason it was refused. The socket is closed after. */
export async function handshakeOutcome(gatewayUrl: string, token: string): Promise<string> {
  const client = new TerminalClient({ url: gatewayUrl, token, reconnection: false });
  try {
    return await client.connect().then(
      () => 'connected',
      (error: unknown) => {
        if (error instanceof ConnectRefused) return error.reason;
        throw error;
      },
    );
  } finally {
    client.close();
  }
}
