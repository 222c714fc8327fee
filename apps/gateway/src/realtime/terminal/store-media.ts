import { Injectable } from '@nestjs/common';
import type { MediaRef } from '@lastmeter/contracts';
import { MediaLibrary, mediaRefOf } from '@lastmeter/media';
import { InvalidMessage } from './message';

/**
 * The media a store terminal attaches to a fact (docs/media.md): each must have been
 * uploaded, by this store (`POST /v1/media` with its token), and be of a kind the fact
 * takes; the fact then carries their references, never the bytes.
 */
@Injectable()
export class StoreMedia {
  constructor(private readonly library: MediaLibrary) {}

  /** The references, in order; per-field errors (`field`, e.g. `photoMediaId`) otherwise, nothing written. */
  async refs(
    storeId: string,
    mediaIds: string[],
    field: string,
    options: { images?: boolean } = {},
  ): Promise<MediaRef[]> {
    const records = await Promise.all(mediaIds.map((id) => this.library.record(id)));
    const problems: string[] = [];
    records.forEach((record, i) => {
      if (!record || record.owner.kind !== 'store' || record.owner.storeId !== storeId) {
        problems.push(`${mediaIds[i]}: no medium of this store has this id (upload it first with POST /v1/media)`);
      } else if (options.images && !record.contentType.startsWith('image/')) {
        problems.push(`${mediaIds[i]}: must be a photo (JPEG, PNG or WebP), not ${record.contentType}`);
      }
    });
    if (problems.length > 0) throw new InvalidMessage({ [field]: problems });
    return records.map((record) => mediaRefOf(record!));
  }
}
