import sharp from 'sharp';
import { MEDIA_MAX_BYTES, MEDIA_THUMBNAIL_PX, type MediaContentType } from '@lastmeter/contracts';

/** An upload refused, with the HTTP status that says why. Nothing was stored. */
export class MediaRefused extends Error {
  /** Per-field errors, as every 4xx of the API has them: the upload's field is `file`. */
  readonly fields: Record<string, string[]>;

  constructor(
    readonly status: 413 | 415 | 422,
    message: string,
  ) {
    super(message);
    this.fields = { file: [message] };
  }
}

/** What is stored of an accepted upload: images re-encoded without their metadata. */
export interface InspectedMedia {
  contentType: MediaContentType;
  bytes: Buffer;
  width?: number;
  height?: number;
  thumbnail?: { bytes: Buffer; width: number; height: number };
}

/** Decoding cost is bounded too: a 15 MB PNG can hold billions of pixels. 64 MP covers phone cameras. */
export const MEDIA_MAX_PIXELS = 64_000_000;

/**
 * The type from the first bytes (the magic numbers of the four accepted formats), never
 * from the file name or the declared type. Anything else (HEIC, GIF, an executable
 * renamed .jpg) is undefined.
 */
export function sniffType(bytes: Buffer): MediaContentType | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'image/png';
  if (bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  if (bytes.toString('latin1', 0, 5) === '%PDF-') return 'application/pdf';
  return undefined;
}
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const SHARP_FORMAT: Record<string, MediaContentType> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

/**
 * Checks an upload and prepares what is stored (docs/media.md):
 * - the type is sniffed (415 otherwise) and its size limit applied (413);
 * - an image is decoded completely (a truncated or corrupt one is a 422), turned upright
 *   by its EXIF orientation and re-encoded in its own format without any metadata (EXIF
 *   with GPS, XMP, IPTC: gone), and gets a JPEG thumbnail;
 * - a PDF must end with its `%%EOF` marker (a truncated upload is a 422); its bytes are
 *   kept as they are and only ever served with a sandboxing CSP.
 */
export async function inspectUpload(input: Buffer): Promise<InspectedMedia> {
  const contentType = sniffType(input);
  if (!contentType) {
    throw new MediaRefused(415, 'unsupported media type: JPEG, PNG and WebP images and PDF documents are accepted');
  }
  if (contentType === 'application/pdf') {
    if (input.length > MEDIA_MAX_BYTES.pdf) throw tooLarge('a PDF', MEDIA_MAX_BYTES.pdf);
    if (!input.subarray(-2048).includes('%%EOF')) throw new MediaRefused(422, 'the PDF is truncated (no %%EOF)');
    return { contentType, bytes: input };
  }
  if (input.length > MEDIA_MAX_BYTES.image) throw tooLarge('an image', MEDIA_MAX_BYTES.image);
  try {
    const options = { failOn: 'truncated', limitInputPixels: MEDIA_MAX_PIXELS } as const;
    const metadata = await sharp(input, options).metadata();
    if (SHARP_FORMAT[metadata.format ?? ''] !== contentType) {
      throw new MediaRefused(422, `the file starts as ${contentType} but does not decode as one`);
    }
    const upright = sharp(input, options).rotate();
    const encoded =
      contentType === 'image/jpeg'
        ? upright.jpeg({ quality: 88 })
        : contentType === 'image/png'
          ? upright.png()
          : upright.webp({ quality: 88 });
    const { data, info } = await encoded.toBuffer({ resolveWithObject: true });
    const thumbnail = await sharp(data)
      .resize(MEDIA_THUMBNAIL_PX, MEDIA_THUMBNAIL_PX, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 72 })
      .toBuffer({ resolveWithObject: true });
    return {
      contentType,
      bytes: data,
      width: info.width,
      height: info.height,
      thumbnail: { bytes: thumbnail.data, width: thumbnail.info.width, height: thumbnail.info.height },
    };
  } catch (error) {
    if (error instanceof MediaRefused) throw error;
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) {
      throw new MediaRefused(413, `the image has more than ${MEDIA_MAX_PIXELS / 1_000_000} megapixels`);
    }
    throw new MediaRefused(422, `the image is truncated or corrupt (${message.split('\n')[0]})`);
  }
}

function tooLarge(what: string, limit: number): MediaRefused {
  return new MediaRefused(413, `${what} may be at most ${limit / 1024 / 1024} MB`);
}
