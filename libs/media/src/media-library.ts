import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { MediaContentType, MediaOwner, MediaRecord, MediaRef, MediaUploaded } from '@lastmeter/contracts';
import { inspectUpload } from './inspect';
import type { ObjectStore } from './object-store';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EXTENSION: Record<MediaContentType, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'application/pdf': 'pdf',
};

export type MediaVariant = 'original' | 'thumbnail';

/**
 * Media over an object store (docs/media.md). Bytes are content-addressed
 * (`blobs/<2 hex>/<sha256>`: the same photo uploaded twice is stored once); each upload
 * gets a record (`records/<mediaId>.json`) saying whose it is. The record is written
 * last, so an upload cut short leaves at most a blob no record names, which the sweep
 * removes.
 */
export class MediaLibrary {
  constructor(readonly store: ObjectStore) {}

  /** Checks, prepares and stores an upload; throws MediaRefused (nothing stored) when refused. */
  async upload(input: Buffer, meta: { name?: string; owner: MediaOwner; uploadedBy: string }): Promise<MediaRecord> {
    const media = await inspectUpload(input);
    const sha256 = await this.putBlob(media.bytes, media.contentType);
    const record: MediaRecord = {
      mediaId: randomUUID(),
      sha256,
      contentType: media.contentType,
      size: media.bytes.length,
      ...(media.width !== undefined ? { width: media.width, height: media.height } : {}),
      name: safeName(meta.name, media.contentType),
      owner: meta.owner,
      uploadedBy: meta.uploadedBy,
      uploadedAt: new Date().toISOString(),
    };
    if (media.thumbnail) {
      const { bytes, width, height } = media.thumbnail;
      const thumb = await this.putBlob(bytes, 'image/jpeg');
      record.thumbnail = { sha256: thumb, size: bytes.length, width, height, contentType: 'image/jpeg' };
    }
    await this.store.put(recordKey(record.mediaId), Buffer.from(JSON.stringify(record)), 'application/json');
    return record;
  }

  /** The record of a medium, or undefined (also for anything that is not a media id). */
  async record(mediaId: string): Promise<MediaRecord | undefined> {
    if (!UUID.test(mediaId)) return undefined;
    const bytes = await this.store.read(recordKey(mediaId));
    return bytes ? (JSON.parse(bytes.toString('utf8')) as MediaRecord) : undefined;
  }

  /** The bytes of a medium (or of its thumbnail, when it has one). */
  async open(
    record: MediaRecord,
    variant: MediaVariant,
  ): Promise<{ stream: Readable; size: number; contentType: string; sha256: string } | undefined> {
    const blob = variantOf(record, variant);
    if (!blob) return undefined;
    const object = await this.store.open(blobKey(blob.sha256));
    return object && { ...object, contentType: blob.contentType, sha256: blob.sha256 };
  }

  private async putBlob(bytes: Buffer, contentType: string): Promise<string> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = blobKey(sha256);
    if (!(await this.store.exists(key))) await this.store.put(key, bytes, contentType);
    return sha256;
  }
}

export function blobKey(sha256: string): string {
  return `blobs/${sha256.slice(0, 2)}/${sha256}`;
}

export function recordKey(mediaId: string): string {
  return `records/${mediaId}.json`;
}

/**
 * A file name safe in a Content-Disposition header and on any disk: the last path
 * segment, characters outside letters, digits, space, '.', '-', '_' replaced, at most 100
 * characters, with the extension of the sniffed type.
 */
export function safeName(name: string | undefined, contentType: MediaContentType): string {
  const extension = EXTENSION[contentType];
  const base = (name ?? '')
    .split(/[\\/]/)
    .pop()!
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9 ._-]/g, '_')
    .replace(/^[._ ]+/, '')
    .slice(0, 100 - extension.length - 1)
    .trim();
  return `${base || 'file'}.${extension}`;
}

/** The reference events carry: what identifies the bytes, nothing about who uploaded them. */
export function mediaRefOf(record: MediaRecord): MediaRef {
  const { mediaId, sha256, contentType, size, width, height } = record;
  return { mediaId, sha256, contentType, size, ...(width !== undefined ? { width, height } : {}) };
}

/** What an upload answers (`POST /v1/media`, and the last PATCH of a resumable upload). */
export function uploadedOf(record: MediaRecord): MediaUploaded {
  return { ...mediaRefOf(record), name: record.name, ...(record.thumbnail ? { thumbnail: record.thumbnail } : {}) };
}

/** The stored bytes of a variant: the medium itself, or its thumbnail (undefined when it has none). */
export function variantOf(
  record: MediaRecord,
  variant: MediaVariant,
): Pick<MediaRecord, 'sha256' | 'contentType'> | undefined {
  return variant === 'thumbnail' ? record.thumbnail : record;
}
