/**
 * The resume protocol of `/terminal` once a terminal is accepted (docs/design.md
 * section 6): rooms chosen by the server only, `hello`, then every feed item after the
 * terminal's cursor and live items (FeedRelay). A terminal without a cursor (or with one
 * that cannot be trusted) gets the store's live set instead of its whole history: the
 * snapshot, taken at a head it then resumes from.
 */
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import {
  SNAPSHOT_CHUNK_ITEMS,
  type FeedItem,
  type FeedMessage,
  type Hello,
  type LiveSetChunk,
} from '@lastmeter/contracts';
import { feedHead, readLiveSet } from '@lastmeter/read-models';
import { ReadModels } from '../../read/read-models.service';
import { visibleTo } from '../../read/scope';
import { FeedRelay } from '../feed-relay';
import { GatewayMetrics } from '../gateway-metrics';
import type { TerminalSocketData } from './terminal-socket';

@Injectable()
export class TerminalResume {
  constructor(
    private readonly models: ReadModels,
    private readonly relay: FeedRelay,
    private readonly metrics: GatewayMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig<'gateway'>,
  ) {}

  /** Joins the terminal's room, says hello and starts relaying its store's feed. */
  async start(data: TerminalSocketData): Promise<void> {
    const { session, handshake: steps } = data;
    const { socket } = session;
    steps?.at('resume: read models: current keys');
    const keys = await this.models.keys();
    // A cursor from another epoch cannot be trusted: start again from the live set,
    // marked, instead of leaving a silent gap. One of this epoch beyond the head means the
    // read models are behind the log (Redis failed over and lost the newest entries, which
    // the projectors re-project): it is kept, and the entries after it follow as they
    // come back; a reset would send the tablet its whole live set again. A cursor without
    // an epoch beyond the head is taken as foreign. The head is read here only to judge
    // the cursor; the snapshot reads its own head.
    const otherEpoch = data.requestedEpoch !== undefined && data.requestedEpoch !== data.epoch;
    steps?.at('resume: feed head');
    const head = await feedHead(this.models.redis, keys, session.storeId);
    const beyond = data.requestedCursor > head && data.requestedEpoch === undefined;
    const foreign = data.requestedCursor > 0 && (otherEpoch || beyond);
    // One room, the server's choice (a client has no way to join one): revocation closes
    // `terminal:<id>` on every gateway. Feeds go to socket ids (FeedRelay), so rooms per
    // store, region or role would only cost memory on each of thousands of sockets.
    steps?.at('resume: join room');
    await socket.join(`terminal:${session.terminalId}`);
    let headSeq = head;
    let snapshot: FeedItem[] | undefined;
    if (data.requestedCursor === 0 || foreign) {
      // The live set and the head it was folded at, read together: the relay then sends
      // every entry after that head, so the seam loses and repeats nothing.
      // Notices without expiry older than NOTICE_MAX_AGE_DAYS are not live any more.
      steps?.at('resume: live set');
      ({ headSeq, items: snapshot } = await readLiveSet(
        this.models.redis,
        keys,
        session.storeId,
        new Date(),
        this.config.NOTICE_MAX_AGE_DAYS,
      ));
      session.cursor = headSeq;
      // A client from before snapshots clears its cursor on `reset`: on the first
      // snapshot item, or on the first live item when the live set is empty.
      session.reset = foreign && snapshot.length === 0;
    }
    const hello: Hello = {
      epoch: data.epoch,
      headSeq,
      storeId: session.storeId,
      terminalId: session.terminalId,
      noticeMaxAgeDays: this.config.NOTICE_MAX_AGE_DAYS,
      ...(snapshot ? { snapshot: snapshot.length } : {}),
      ...(data.renewedToken ? { token: data.renewedToken } : {}),
    };
    socket.emit('hello', hello);
    this.metrics.sent('terminal', 'hello');
    const messages = snapshot?.map((item, i) => {
      const message: FeedMessage = { ...visibleTo(session.claims, item), snapshot: true };
      if (foreign && i === 0) message.reset = true;
      return message;
    });
    if (messages && data.snapshotChunks) {
      // A few messages for thousands of items: one encoding and one event each.
      for (let from = 0; from < messages.length; from += SNAPSHOT_CHUNK_ITEMS) {
        const chunk: LiveSetChunk = { items: messages.slice(from, from + SNAPSHOT_CHUNK_ITEMS) };
        socket.emit('feed.snapshot', chunk);
        this.metrics.sent('terminal', 'feed.snapshot');
      }
    } else {
      for (const message of messages ?? []) socket.emit('feed', message);
      this.metrics.sent('terminal', 'feed', messages?.length ?? 0);
    }
    this.metrics.backlogSent(messages?.length ?? 0);
    this.relay.attach(session);
  }

  /** The socket is gone: its feed is no longer relayed. */
  stop(data: TerminalSocketData): void {
    this.relay.detach(data.session);
  }
}
