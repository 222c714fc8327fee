import { Injectable } from '@nestjs/common';
import type { MediaRef } from '@lastmeter/contracts';
import { MediaLibrary, storeMediaRefs } from '@lastmeter/media';
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
    const { refs, problems } = await storeMediaRefs(this.library, storeId, mediaIds, options);
    const messages = problems.flatMap((problem, i) => (problem ? [`${mediaIds[i]}: ${problem}`] : []));
    if (messages.length > 0) throw new InvalidMessage({ [field]: messages });
    return refs;
  }
}
