import type { FeedMessage } from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
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
