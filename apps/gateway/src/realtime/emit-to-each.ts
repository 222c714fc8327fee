import type { Socket } from 'socket.io';

/** Socket.IO's packet type of an event (socket.io-parser's `PacketType.EVENT`, fixed by the protocol). */
const EVENT = 2;

/** What socket.io-adapter's adapters (2.x) use for a broadcast: one encoding for every socket. */
interface EncodingAdapter {
  _encode(packet: object, packetOpts: Record<string, unknown>): unknown[];
}

/**
 * Emits `event` with `data` to every socket of `sockets` (all of one namespace; one
 * socket gets a plain `emit`), encoded once: what `nsp.to(ids).emit(event, data)` does,
 * minus its walk from each socket id through the adapter's rooms back to the socket,
 * which the caller holds already. The feed relay sends each item to the terminals of a
 * store this way, a thousand sockets a publish per gateway: the walk was 4% of the
 * gateway's CPU in the fan-out (bench/PROFILE.md).
 *
 * It is the adapter's own `broadcast`, step for step: `_encode` encodes the packet and,
 * with `ws` underneath, frames the WebSocket message once for all; then each socket's
 * client writes those packets as they are (`_packet` with `preEncoded`, the path
 * socket.io keeps for adapters). Every adapter built on socket.io-adapter (the
 * in-memory one, Redis, cluster) has `_encode`; the spec fails if an upgrade drops it.
 * Sockets that are no longer connected are skipped, as the adapter skips ids that left
 * the namespace.
 */
export function emitToEach(sockets: readonly Socket[], event: string, data: unknown): void {
  // One socket: its own emit (no shared frame to build).
  if (sockets.length <= 1) {
    sockets[0]?.emit(event, data);
    return;
  }
  const nsp = sockets[0]!.nsp;
  const adapter = nsp.adapter as unknown as EncodingAdapter;
  const packet = { type: EVENT, data: [event, data], nsp: nsp.name };
  const packetOpts: Record<string, unknown> = { preEncoded: true };
  const encoded = adapter._encode(packet, packetOpts);
  for (const socket of sockets) {
    // With `preEncoded`, the client hands the encoded packets to engine.io as they are (or
    // drops them if its connection is no longer open).
    if (socket.connected) socket.client._packet(encoded as never, packetOpts);
  }
}
