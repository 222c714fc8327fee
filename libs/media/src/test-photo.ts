import { randomBytes } from 'node:crypto';
import sharp from 'sharp';

/**
 * For tests and benchmarks: a phone photo as cameras write it, a JPEG with EXIF GPS
 * (48°51'29.64"N 2°21'E), the phone's make and orientation 6 (turned 90°).
 */
export function testPhoto(
  width: number,
  height: number,
  make = 'TestPhone',
  options: { noise?: boolean } = {},
): Promise<Buffer> {
  // Noise makes a JPEG as large as a camera's (a flat colour compresses to a few kilobytes).
  const pixels = options.noise
    ? sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    : sharp({ create: { width, height, channels: 3, background: '#2a7a3a' } });
  return pixels
    .jpeg({ quality: 90 })
    .withExif({
      IFD0: { Make: make },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 2964/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 21/1 0/1',
      },
    })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}
