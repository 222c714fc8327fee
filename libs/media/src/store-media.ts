import type { MediaRef } from '@lastmeter/contracts';
import { mediaRefOf, type MediaLibrary } from './media-library';

/**
 * The references of media a store attaches to one of its facts (evidence, reports): each
 * must exist, belong to that store, and (`images`) be a picture. `problems[i]` says why
 * `mediaIds[i]` is refused (undefined when it is fine); `refs` holds all of them only when
 * none is refused.
 */
export async function storeMediaRefs(
  library: MediaLibrary,
  storeId: string,
  mediaIds: string[],
  options: { images?: boolean } = {},
): Promise<{ refs: MediaRef[]; problems: Array<string | undefined> }> {
  const records = await Promise.all(mediaIds.map((id) => library.record(id)));
  const problems = records.map((record) => {
    if (!record || record.owner.kind !== 'store' || record.owner.storeId !== storeId) {
      return 'no medium of this store has this id (upload it first with POST /v1/media)';
    }
    if (options.images && !record.contentType.startsWith('image/')) {
      return `must be a photo (JPEG, PNG or WebP), not ${record.contentType}`;
    }
    return undefined;
  });
  return { refs: problems.some(Boolean) ? [] : records.map((record) => mediaRefOf(record!)), problems };
}
