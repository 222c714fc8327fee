import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MediaRecord } from '@lastmeter/contracts';
import { blobKey, variantOf, type MediaVariant, type S3ObjectStore } from '@lastmeter/media';

/** How long a signed media link works (an `<img src>` needs no bearer token). */
export const MEDIA_LINK_TTL_S = 300;

/**
 * Short-lived signed links to media (`GET /v1/media/:id/link` → `/v1/media/:id/content?…`):
 * an HMAC of the media id, the variant and the expiry, with a key derived from
 * LASTMETER_JWT_SECRET, so every gateway checks what any gateway signed and nothing is
 * stored. A link is a bearer of read access for its few minutes: it is issued only to a
 * reader allowed to see the medium, and only over HTTPS-terminated connections in production.
 */
export class MediaLinks {
  private readonly key: Buffer;

  /** `direct`: links are presigned URLs of this bucket instead (MEDIA_S3_DIRECT_LINKS). */
  constructor(
    secret: string,
    private readonly direct?: S3ObjectStore,
  ) {
    this.key = createHmac('sha256', secret).update('lastmeter media links v1').digest();
  }

  /** A link to a medium's variant (a gateway path, or a presigned bucket URL), valid MEDIA_LINK_TTL_S. */
  async linkTo(
    record: MediaRecord,
    variant: MediaVariant,
    now = Date.now(),
  ): Promise<{ url: string; expiresAt: string }> {
    if (!this.direct) {
      const { path, expiresAt } = this.sign(record.mediaId, variant, now);
      return { url: path, expiresAt };
    }
    const blob = variantOf(record, variant)!;
    const url = await this.direct.presign(blobKey(blob.sha256), MEDIA_LINK_TTL_S, {
      contentType: blob.contentType,
      contentDisposition: `inline; filename="${mediaFileName(record, variant)}"`,
      cacheControl: `private, max-age=${MEDIA_LINK_TTL_S}`,
    });
    return { url, expiresAt: new Date(now + MEDIA_LINK_TTL_S * 1000).toISOString() };
  }

  sign(mediaId: string, variant: MediaVariant, now = Date.now()): { path: string; expiresAt: string } {
    const expires = Math.floor(now / 1000) + MEDIA_LINK_TTL_S;
    const signature = this.signature(mediaId, variant, expires);
    return {
      path: `/v1/media/${mediaId}/content?variant=${variant}&expires=${expires}&signature=${signature}`,
      expiresAt: new Date(expires * 1000).toISOString(),
    };
  }

  /** Seconds the link still works, or undefined when its signature is wrong or it has expired. */
  check(
    mediaId: string,
    variant: MediaVariant,
    expires: number,
    signature: string,
    now = Date.now(),
  ): number | undefined {
    const expected = Buffer.from(this.signature(mediaId, variant, expires));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const left = expires - Math.floor(now / 1000);
    return left > 0 && left <= MEDIA_LINK_TTL_S ? left : undefined;
  }

  private signature(mediaId: string, variant: MediaVariant, expires: number): string {
    return createHmac('sha256', this.key).update(`${mediaId}.${variant}.${expires}`).digest('base64url');
  }
}

/** The file name a variant is served under (the thumbnail's says so). */
export function mediaFileName(record: MediaRecord, variant: MediaVariant): string {
  return variant === 'thumbnail' ? record.name.replace(/\.[^.]+$/, '-thumbnail.jpg') : record.name;
}
