/**
 * Authorisation of facts about a communication (receipts, task completion, quiz
 * answers): a terminal reports only on what its own store's feed carried, and on no
 * revision newer than the communication's.
 */
import { Injectable } from '@nestjs/common';
import type { CommunicationView } from '@lastmeter/contracts';
import { factContexts, feedHead, getCommunication, type RedisKeys } from '@lastmeter/read-models';
import { ReadModels, RECHECK_WAITS_MS } from '../../read/read-models.service';
import { FeedRelay, type TerminalSession } from '../feed-relay';
import { InvalidMessage, ReadModelsBehind, Rejected } from './message';

/** How long a passed check is remembered, and for how many store/communication pairs at most. */
const REMEMBER_MS = 5_000;
const REMEMBER_MAX = 50_000;

export interface FactSubject {
  communicationId: string;
  revision: number;
}

@Injectable()
export class FeedCheck {
  /**
   * `<storeId>/<communicationId>` → the communication's revision when a fact on it was
   * last allowed. Both facts checked are monotonic in the read model (a store once
   * targeted stays targeted; a revision only grows), so a pass stays a pass: a fact on
   * a revision up to the remembered one is allowed without asking Redis again. Refusals
   * are never remembered.
   */
  private readonly passed = new Map<string, { revision: number; until: number }>();

  constructor(
    private readonly models: ReadModels,
    private readonly relay: FeedRelay,
  ) {}

  /**
   * Refuses the fact unless the communication was in the terminal's store feed and
   * `revision` is not newer than its current one. Both are written before the feed item
   * goes out (`beforeFeed`), but a Redis failover can drop them for a moment, and the
   * projector may be catching up with a just-revised communication or re-projecting what
   * a failover dropped (until it flags the read models as recovering, which answers the
   * fact as retryable instead): a fact that would be refused is re-checked a few times
   * first (RECHECK_WAITS_MS). If it still would, while the store's feed in Redis ends
   * below the terminal's cursor (it was handed items on commit, by another gateway, that
   * no projector has written yet), it is answered as retryable (ReadModelsBehind), not
   * refused.
   */
  async requireInFeed(session: TerminalSession, communicationId: string, revision: number): Promise<void> {
    const [problem] = await this.check(session, [{ communicationId, revision }]);
    if (problem) throw problem;
  }

  /**
   * requireInFeed for many facts at once (a batch of receipts): one Redis round trip for
   * all their communications, and the re-checks only for those still too new. One entry
   * per fact, in order: undefined when allowed, the refusal otherwise.
   */
  async check(session: TerminalSession, facts: FactSubject[]): Promise<Array<Error | undefined>> {
    const problems: Array<Error | undefined> = new Array(facts.length).fill(undefined);
    const now = Date.now();
    // Allowed without asking Redis: a pass remembered, or an item of the communication at
    // that revision that this gateway handed the store's terminals (committed, though a
    // projector may not have it in Redis yet: the notice on commit came first).
    const known = (i: number) =>
      this.remembered(session.storeId, facts[i], now) ||
      this.relay.handedOut(session.storeId, facts[i].communicationId, facts[i].revision);
    let open = facts.flatMap((_, i) => (known(i) ? [] : [i]));
    let behind: boolean | undefined;
    for (let attempt = 0; open.length > 0; attempt++) {
      const ids = [...new Set(open.map((i) => facts[i].communicationId))];
      const keys = await this.models.keys();
      const contexts = await factContexts(this.models.redis, keys, ids, session.storeId);
      const last = attempt === RECHECK_WAITS_MS.length;
      if (last) behind = await this.behind(keys, session);
      const byId = new Map(ids.map((id, j) => [id, contexts[j]]));
      const again: number[] = [];
      for (const i of open) {
        const { communicationId, revision } = facts[i];
        const { targeted, revision: current } = byId.get(communicationId)!;
        if (targeted && current !== undefined && revision <= current) {
          this.remember(session.storeId, communicationId, current);
        } else if (!last) again.push(i);
        else if (behind) problems[i] = notProjected(session);
        else if (!targeted) problems[i] = new Rejected(`communication ${communicationId} is not in this store's feed`);
        else {
          problems[i] = new InvalidMessage({
            revision: [`must not exceed the communication's current revision (${current ?? 'unknown'})`],
          });
        }
      }
      if (again.length > 0) await new Promise((resolve) => setTimeout(resolve, RECHECK_WAITS_MS[attempt]));
      open = again.filter((i) => !known(i));
    }
    return problems;
  }

  /**
   * The communication as the read models hold it, once `ready` says it is current enough
   * for the fact (a survey published, a quiz at the answered revision). A terminal may
   * answer an item handed out on commit before any projector wrote it, so a view that is
   * not ready is re-read a few times (RECHECK_WAITS_MS), as requireInFeed's checks are.
   * If it still is not, while the store's feed in Redis ends below the terminal's cursor,
   * the fact is answered as retryable (ReadModelsBehind); otherwise the caller judges it
   * by the view as it is (a survey closed since, a communication that is no quiz).
   */
  async communicationFor(
    session: TerminalSession,
    communicationId: string,
    ready: (communication: CommunicationView) => boolean,
  ): Promise<CommunicationView | undefined> {
    for (let attempt = 0; ; attempt++) {
      const keys = await this.models.keys();
      const communication = await getCommunication(this.models.redis, keys, communicationId);
      if (communication && ready(communication)) return communication;
      if (attempt === RECHECK_WAITS_MS.length) {
        if (await this.behind(keys, session)) throw notProjected(session);
        return communication;
      }
      await new Promise((resolve) => setTimeout(resolve, RECHECK_WAITS_MS[attempt]));
    }
  }

  /**
   * Whether the store's feed in Redis ends below the terminal's cursor: it was handed
   * items on commit that no projector has written yet.
   */
  private async behind(keys: RedisKeys, session: TerminalSession): Promise<boolean> {
    return (await feedHead(this.models.redis, keys, session.storeId)) < session.cursor;
  }

  private remembered(storeId: string, fact: FactSubject, now: number): boolean {
    const pass = this.passed.get(`${storeId}/${fact.communicationId}`);
    return pass !== undefined && pass.until > now && fact.revision <= pass.revision;
  }

  private remember(storeId: string, communicationId: string, revision: number): void {
    if (this.passed.size >= REMEMBER_MAX) this.passed.clear();
    this.passed.set(`${storeId}/${communicationId}`, { revision, until: Date.now() + REMEMBER_MS });
  }
}

/** A fact that cannot be checked before a projector writes the store's feed this far: retryable. */
function notProjected(session: TerminalSession): ReadModelsBehind {
  return new ReadModelsBehind(`store ${session.storeId}: feed not projected this far`);
}
