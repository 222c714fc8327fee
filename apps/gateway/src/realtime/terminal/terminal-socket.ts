/**
 * What the gateway keeps on each `/terminal` socket (`socket.data`), set by
 * TerminalAuthentication before the connection is accepted, and the actor a terminal's
 * facts are recorded under.
 */
import type { Socket } from 'socket.io';
import type { Actor } from '@lastmeter/contracts';
import type { TerminalSession } from '../feed-relay';
import type { HandshakeSteps } from './handshake-watch';

export interface TerminalSocketData {
  session: TerminalSession;
  epoch: string;
  requestedCursor: number;
  requestedEpoch?: string;
  /** The terminal takes the live set as `feed.snapshot` chunks (`auth.snapshotChunks`). */
  snapshotChunks: boolean;
  /** A renewed device token to hand over with hello. */
  renewedToken?: string;
  /** When the socket's token (or its renewal) was issued and expires, epoch ms. */
  issuedAt: number;
  expiresAt: number;
  /** `<gateway id>/<socket id>`, in the terminal's connection set. */
  ref: string;
  cancelExpiry?: () => void;
  /** The handshake's steps until the terminal is served (hello sent, counted present); then dropped. */
  handshake?: HandshakeSteps;
}

/** The data of an accepted terminal socket. */
export function terminalData(socket: Socket): TerminalSocketData {
  return socket.data as TerminalSocketData;
}

/** Facts from a terminal are recorded as the terminal, in its store. */
export function actorOf(session: TerminalSession): Actor {
  return {
    id: session.terminalId,
    role: session.claims.role === 'screen' ? 'screen' : 'terminal',
    storeId: session.storeId,
  };
}
