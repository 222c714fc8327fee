/**
 * The resume protocol of `/terminal` once a terminal is accepted (docs/design.md
 * section 6): rooms chosen by the server only, `hello`, then every feed item after the
 * terminal's cursor and live items (FeedRelay).
 */
import { Injectable } from '@nestjs/common';
import type { Hello } from '@lastmeter/contracts';
import { feedHead, getStore } from '@lastmeter/read-models';
import { ReadModels } from '../../read/read-models.service';
import { FeedRelay } from '../feed-relay';
import type { TerminalSocketData } from './terminal-socket';

@Injectable()
export class TerminalResume {
  constructor(
    private readonly models: ReadModels,
    private readonly relay: FeedRelay,
  ) {}

  /** Joins the terminal's rooms, says hello and starts relaying its store's feed. */
  async start(data: TerminalSocketData): Promise<void> {
    const { session } = data;
    const { socket } = session;
    const keys = await this.models.keys();
    const [headSeq, store] = await Promise.all([
      feedHead(this.models.redis, keys, session.storeId),
      getStore(this.models.redis, keys, session.storeId),
    ]);
    // The rooms are the server's choice; a client has no way to join one.
    await socket.join([
      `store:${session.storeId}`,
      `terminal:${session.terminalId}`,
      ...(store ? [`region:${store.regionId}`] : []),
      ...(session.claims.roles ?? []).map((role) => `role:${role}`),
    ]);
    // A cursor from another epoch (or beyond the head) cannot be trusted: send the
    // whole feed again, marked, instead of leaving a silent gap. A cursor without an
    // epoch is taken as one of ours.
    const otherEpoch = data.requestedEpoch !== undefined && data.requestedEpoch !== data.epoch;
    const foreign = data.requestedCursor > 0 && (otherEpoch || data.requestedCursor > headSeq);
    if (foreign) {
      session.cursor = 0;
      session.reset = true;
    }
    const hello: Hello = {
      epoch: data.epoch,
      headSeq,
      storeId: session.storeId,
      terminalId: session.terminalId,
      ...(data.renewedToken ? { token: data.renewedToken } : {}),
    };
    socket.emit('hello', hello);
    this.relay.attach(session);
  }

  /** The socket is gone: its feed is no longer relayed. */
  stop(data: TerminalSocketData): void {
    this.relay.detach(data.session);
  }
}
