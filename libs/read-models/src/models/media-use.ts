import type Redis from 'ioredis';
import type { DomainEvent, MediaRef } from '@lastmeter/contracts';
import type { ProjectionContext, ReadModel } from '../model';
import type { RedisKeys } from '../redis-keys';
import { getCommunication } from './catalogue';

/**
 * What uses each medium, for the gateway's access check and the media sweep
 * (docs/media.md):
 * - `media:<id>:comms`: the communications that used it as an attachment or cover, in
 *   any revision (a store that saw an older revision may still open what it showed);
 * - `media:<id>:facts`: store facts that carry it: `evidence:<communicationId>` (a task's
 *   photo) or `report` (a field report's attachment).
 * Never shrinks: the sweep decides from these and the communications' status.
 */
export const mediaUse: ReadModel = {
  name: 'media-use',
  project(event: DomainEvent, context: ProjectionContext): void {
    const { keys } = context;
    const use = (refs: Array<MediaRef | null | undefined>, key: 'comms' | 'facts', member: string) => {
      for (const ref of refs) if (ref) context.write('SADD', keys.model('media', ref.mediaId, key), member);
    };
    if (event.type === 'communication.drafted') {
      use([...(event.data.attachments ?? []), event.data.cover], 'comms', event.aggregateId);
    } else if (event.type === 'communication.revised') {
      use([...(event.data.changes.attachments ?? []), event.data.changes.cover], 'comms', event.aggregateId);
    } else if (event.type === 'task.completed') {
      use([event.data.photo], 'facts', `evidence:${event.data.communicationId}`);
    } else if (event.type === 'report.filed') {
      use(event.data.attachments ?? [], 'facts', 'report');
    }
  },
};

/** The communications that use a medium (none for a store's own media). */
export function communicationsUsing(redis: Redis, keys: RedisKeys, mediaId: string): Promise<string[]> {
  return redis.smembers(keys.model('media', mediaId, 'comms'));
}

/** Why a medium is still needed, as the sweep sees it. */
export interface MediaUse {
  /** A field report carries it: kept as long as reports are. */
  report: boolean;
  /**
   * The communications it belongs to (attached, cover, or a task it is evidence of), with
   * when each ended (retracted or expired); `endedAt` absent while one is not over.
   */
  communications: Array<{ id: string; endedAt?: string }>;
}

export async function mediaUseOf(redis: Redis, keys: RedisKeys, mediaId: string): Promise<MediaUse> {
  const [comms, facts] = await Promise.all([
    redis.smembers(keys.model('media', mediaId, 'comms')),
    redis.smembers(keys.model('media', mediaId, 'facts')),
  ]);
  const ids = new Set(comms);
  for (const fact of facts) if (fact.startsWith('evidence:')) ids.add(fact.slice('evidence:'.length));
  const communications = await Promise.all(
    [...ids].map(async (id) => {
      const communication = await getCommunication(redis, keys, id);
      const endedAt = communication?.retractedAt ?? communication?.expiredAt;
      return { id, ...(endedAt ? { endedAt } : {}) };
    }),
  );
  return { report: facts.includes('report'), communications };
}
