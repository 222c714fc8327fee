import type Redis from 'ioredis';
import type { DomainEvent, MediaRef } from '@lastmeter/contracts';
import type { ProjectionContext, ReadModel } from '../model';
import type { RedisKeys } from '../redis-keys';

/**
 * Which communications use each head office medium (as an attachment or the cover, in any
 * revision): what the gateway checks a store's read of a medium against (docs/media.md).
 * Never shrinks: a store that saw an older revision may still open what it showed.
 */
export const mediaUse: ReadModel = {
  name: 'media-use',
  project(event: DomainEvent, context: ProjectionContext): void {
    let content: { attachments?: MediaRef[]; cover?: MediaRef | null };
    if (event.type === 'communication.drafted') content = event.data;
    else if (event.type === 'communication.revised') content = event.data.changes;
    else return;
    for (const ref of [...(content.attachments ?? []), ...(content.cover ? [content.cover] : [])]) {
      context.write('SADD', context.keys.model('media', ref.mediaId, 'comms'), event.aggregateId);
    }
  },
};

/** The communications that use a medium (none for a store's own media). */
export function communicationsUsing(redis: Redis, keys: RedisKeys, mediaId: string): Promise<string[]> {
  return redis.smembers(keys.model('media', mediaId, 'comms'));
}
