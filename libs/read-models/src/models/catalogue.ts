import type Redis from 'ioredis';
import type { CommunicationView, DomainEvent } from '@lastmeter/contracts';
import { communicationDecider, type CommunicationState, type CommunicationStatus } from '@lastmeter/domain';
import { decodeCursor, encodeCursor, idOfMember, newestFirst } from '../cursor';
import { nextVersion, type ProjectionContext, type ReadModel, type VersionedDoc } from '../model';
import type { RedisKeys } from '../redis-keys';

/** A communication as head office lists it: its state plus when things happened. */
export interface CatalogueDoc extends VersionedDoc {
  state: CommunicationState;
  createdAt: string;
  updatedAt: string;
  publishedAt?: string;
  retractedAt?: string;
  expiredAt?: string;
}

/** The communication catalogue: one document per communication, listed newest first, overall and by status. */
export const catalogue: ReadModel = {
  name: 'catalogue',
  documents: (event, keys) => (event.aggregateType === 'communication' ? [keys.model('comm', event.aggregateId)] : []),
  project(event: DomainEvent, context: ProjectionContext): void {
    if (event.aggregateType !== 'communication') return;
    const key = context.keys.model('comm', event.aggregateId);
    const doc = context.doc<CatalogueDoc>(key);
    if (!nextVersion(doc, event)) return;
    const previousStatus = doc?.state.status ?? 'none';
    const next = foldCatalogue(doc, event);
    const { state, createdAt } = next;
    // The communication's own history (score = aggregateVersion): time travel folds it.
    context.write(
      'ZADD',
      context.keys.model('comm', event.aggregateId, 'history'),
      event.aggregateVersion,
      JSON.stringify(event),
    );
    const member = newestFirst(createdAt, event.aggregateId);
    context.write('ZADD', context.keys.model('comms'), 0, member);
    if (previousStatus !== state.status) {
      if (previousStatus !== 'none') context.write('ZREM', context.keys.model('comms', previousStatus), member);
      context.write('ZADD', context.keys.model('comms', state.status), 0, member);
    }
    // The current revision alone, so a terminal's receipt is checked without reading the doc.
    // The largest one: the feed projection raises it too, before a revised item goes out.
    context.script('lmMax', context.keys.model('comm', event.aggregateId, 'revision'), state.revision);
    context.setDoc(key, next);
  },
};

/**
 * What a terminal's fact about a communication is checked against, in one round trip:
 * whether the store was targeted (its feed carried it) and the communication's current
 * revision (a receipt may not claim a newer one).
 */
export async function factContext(
  redis: Redis,
  keys: RedisKeys,
  communicationId: string,
  storeId: string,
): Promise<{ targeted: boolean; revision: number | undefined }> {
  return (await factContexts(redis, keys, [communicationId], storeId))[0];
}

/**
 * factContext for several communications in one round trip (a batch of receipts): one
 * pipeline of single-key commands (SISMEMBER and GET per communication), in order.
 */
export async function factContexts(
  redis: Redis,
  keys: RedisKeys,
  communicationIds: string[],
  storeId: string,
): Promise<Array<{ targeted: boolean; revision: number | undefined }>> {
  if (communicationIds.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of communicationIds) {
    pipeline.sismember(keys.model('reach', id, 'targeted'), storeId).get(keys.model('comm', id, 'revision'));
  }
  const results = (await pipeline.exec()) ?? [];
  return communicationIds.map((_, i) => {
    const [[targetedError, targeted], [revisionError, revision]] = [results[2 * i], results[2 * i + 1]];
    if (targetedError ?? revisionError) throw targetedError ?? revisionError;
    return { targeted: targeted === 1, revision: typeof revision === 'string' ? Number(revision) : undefined };
  });
}

/** The catalogue document after one more of the communication's events. Pure. */
export function foldCatalogue(doc: CatalogueDoc | undefined, event: DomainEvent): CatalogueDoc {
  const before = doc?.state ?? communicationDecider.initialState(event.aggregateId);
  const next: CatalogueDoc = {
    version: event.aggregateVersion,
    state: communicationDecider.evolve(before, event),
    createdAt: doc?.createdAt ?? event.occurredAt,
    updatedAt: event.occurredAt,
    publishedAt: event.type === 'communication.published' ? event.occurredAt : doc?.publishedAt,
    retractedAt: event.type === 'communication.retracted' ? event.occurredAt : doc?.retractedAt,
    expiredAt: event.type === 'communication.expired' ? event.occurredAt : doc?.expiredAt,
  };
  return JSON.parse(JSON.stringify(next)) as CatalogueDoc;
}

/**
 * The communication as it stood at `at`: its history folded up to that instant (each
 * event as the log has it, upcast). Undefined when it did not exist yet.
 */
export async function communicationAsOf(
  redis: Redis,
  keys: RedisKeys,
  id: string,
  at: Date,
): Promise<CatalogueEntry | undefined> {
  const history = (await redis.zrange(keys.model('comm', id, 'history'), 0, -1)).map(
    (json) => JSON.parse(json) as DomainEvent,
  );
  let doc: CatalogueDoc | undefined;
  for (const event of history) {
    if (Date.parse(event.occurredAt) > at.getTime()) break;
    doc = foldCatalogue(doc, event);
  }
  return doc ? catalogueEntry(doc) : undefined;
}

/** What GET /communications returns per item. */
/** As the read API shows it (the contract's CommunicationView). */
export type CatalogueEntry = CommunicationView;

export function catalogueEntry(doc: CatalogueDoc): CatalogueEntry {
  const { state } = doc;
  return JSON.parse(
    JSON.stringify({
      id: state.id,
      version: doc.version,
      status: state.status,
      revision: state.revision,
      ...state.content,
      author: state.author,
      createdAt: doc.createdAt,
      updatedAt: doc.updatedAt,
      publishAt: state.publishAt,
      expiresAt: state.expiresAt,
      publishedAt: doc.publishedAt,
      retractedAt: doc.retractedAt,
      expiredAt: doc.expiredAt,
      rejectionReason: state.rejectionReason,
    }),
  ) as CatalogueEntry;
}

export async function getCommunication(redis: Redis, keys: RedisKeys, id: string): Promise<CatalogueEntry | undefined> {
  const value = await redis.get(keys.model('comm', id));
  return value ? catalogueEntry(JSON.parse(value) as CatalogueDoc) : undefined;
}

export interface Page<T> {
  items: T[];
  next?: string;
}

/** Pages through a newest-first index of ids; `undefined` when the cursor is not valid. */
export async function pageIndex(
  redis: Redis,
  index: string,
  cursor: string | undefined,
  limit: number,
): Promise<{ ids: string[]; next?: string } | undefined> {
  const after = cursor === undefined ? '-' : decodeCursor(cursor);
  if (after === undefined) return undefined;
  const members = await redis.zrangebylex(index, after === '-' ? '-' : `(${after}`, '+', 'LIMIT', 0, limit + 1);
  const page = members.slice(0, limit);
  return {
    ids: page.map(idOfMember),
    next: members.length > limit ? encodeCursor(page.at(-1)!) : undefined,
  };
}

export async function listCommunications(
  redis: Redis,
  keys: RedisKeys,
  options: { status?: CommunicationStatus; cursor?: string; limit: number },
): Promise<Page<CatalogueEntry> | undefined> {
  const index = options.status ? keys.model('comms', options.status) : keys.model('comms');
  const page = await pageIndex(redis, index, options.cursor, options.limit);
  if (!page) return undefined;
  const values = page.ids.length ? await redis.mget(page.ids.map((id) => keys.model('comm', id))) : [];
  const items = values.filter((v): v is string => !!v).map((v) => catalogueEntry(JSON.parse(v) as CatalogueDoc));
  return { items, ...(page.next ? { next: page.next } : {}) };
}
