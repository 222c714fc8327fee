/**
 * Authorisation of facts about a communication (receipts, task completion, quiz
 * answers): a terminal reports only on what its own store's feed carried, and on no
 * revision newer than the communication's.
 */
import { Injectable } from '@nestjs/common';
import { factContext } from '@lastmeter/read-models';
import { ReadModels } from '../../read/read-models.service';
import type { TerminalSession } from '../feed-relay';
import { InvalidMessage, Rejected } from './message';

/** Refused-fact retries while the projector catches up with a just-revised communication. */
const REVISION_WAITS_MS = [100, 250, 500];

@Injectable()
export class FeedCheck {
  constructor(private readonly models: ReadModels) {}

  /**
   * Refuses the fact unless the communication was in the terminal's store feed and
   * `revision` is not newer than its current one. The projector writes the revision a
   * moment after the feed item may have reached the terminal, so a newer one is
   * re-checked briefly first.
   */
  async requireInFeed(session: TerminalSession, communicationId: string, revision: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { targeted, revision: current } = await factContext(
        this.models.redis,
        await this.models.keys(),
        communicationId,
        session.storeId,
      );
      if (!targeted) throw new Rejected(`communication ${communicationId} is not in this store's feed`);
      if (current !== undefined && revision <= current) return;
      if (attempt >= REVISION_WAITS_MS.length) {
        throw new InvalidMessage({
          revision: [`must not exceed the communication's current revision (${current ?? 'unknown'})`],
        });
      }
      await new Promise((resolve) => setTimeout(resolve, REVISION_WAITS_MS[attempt]));
    }
  }
}
