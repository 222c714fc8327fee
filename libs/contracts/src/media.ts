/**
 * Media (docs/media.md): photos from the shop floor and attachments from head office.
 * Bytes live in the media store (files under .lastmeter/media, or S3), never in Kafka;
 * events and read models carry a `MediaRef`.
 */

/** What may be uploaded, sniffed from the bytes (never from the name or the declared type). */
export const MEDIA_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'] as const;
export type MediaContentType = (typeof MEDIA_TYPES)[number];

/** Largest accepted upload per kind, in bytes. */
export const MEDIA_MAX_BYTES = {
  image: 15 * 1024 * 1024,
  pdf: 25 * 1024 * 1024,
} as const;

/** The longest side of a thumbnail, in pixels (a card loads it, not the original). */
export const MEDIA_THUMBNAIL_PX = 480;

/** A reference to stored media, as events and read models carry it. */
export interface MediaRef {
  mediaId: string;
  /** Hex sha256 of the stored bytes (for an image: after re-encoding, EXIF removed). */
  sha256: string;
  contentType: MediaContentType;
  size: number;
  width?: number;
  height?: number;
}

/** Who a medium belongs to: a store (its terminals' evidence and reports) or head office. */
export type MediaOwner = { kind: 'store'; storeId: string } | { kind: 'head-office' };

/** The media store's record of one upload (`GET /v1/media/:id/info`). */
export interface MediaRecord extends MediaRef {
  /** The file name given at upload, reduced to safe characters (for Content-Disposition). */
  name: string;
  owner: MediaOwner;
  /** Subject of the token that uploaded it (a user or terminal id). */
  uploadedBy: string;
  uploadedAt: string;
  /** Images only: a JPEG of at most MEDIA_THUMBNAIL_PX on its longest side. */
  thumbnail?: { sha256: string; size: number; width: number; height: number; contentType: 'image/jpeg' };
}

/** `POST /v1/media` answers 201 with this. */
export type MediaUploaded = MediaRef & { name: string; thumbnail?: MediaRecord['thumbnail'] };

/** A document or picture attached to a communication, under the name head office gave it. */
export interface CommunicationAttachment extends MediaRef {
  name: string;
}

/** Most attachments on one communication. */
export const MAX_COMMUNICATION_ATTACHMENTS = 10;
