import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import exif from 'exif-reader';
import sharp from 'sharp';
import { MEDIA_MAX_BYTES } from '@lastmeter/contracts';
import { inspectUpload, MediaRefused, sniffType } from './inspect';
import { blobKey, MediaLibrary, safeName } from './media-library';
import { FsObjectStore, InvalidObjectKey } from './object-store';
import { sweepMedia, type MediaUseView } from './sweep';
import { testPhoto } from './test-photo';

/** A phone photo: 1200×800 JPEG with EXIF GPS and an orientation tag. */
const photoWithGps = () => testPhoto(1200, 800);

async function refusal(input: Buffer): Promise<MediaRefused> {
  const error = await inspectUpload(input).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MediaRefused);
  return error as MediaRefused;
}

describe('inspectUpload', () => {
  it('re-encodes a photo upright without EXIF (GPS first) and makes a small thumbnail', async () => {
    const input = await photoWithGps();
    expect(exif((await sharp(input).metadata()).exif!).GPSInfo).toMatchObject({ GPSLatitude: [48, 51, 29.64] });
    const media = await inspectUpload(input);
    expect(media.contentType).toBe('image/jpeg');
    const stored = await sharp(media.bytes).metadata();
    expect(stored.exif).toBeUndefined();
    expect(stored.xmp).toBeUndefined();
    expect(media.bytes.includes('TestPhone')).toBe(false);
    // Orientation 6 (rotated 90°) is applied to the pixels before the tag goes.
    expect([media.width, media.height]).toEqual([800, 1200]);
    expect(media.thumbnail).toMatchObject({ width: 320, height: 480 });
    expect((await sharp(media.thumbnail!.bytes).metadata()).format).toBe('jpeg');
  });

  it('takes PNG, WebP and PDF, by their bytes', async () => {
    const png = await sharp({ create: { width: 10, height: 10, channels: 4, background: '#0000ff80' } })
      .png()
      .toBuffer();
    const webp = await sharp(png).webp().toBuffer();
    expect((await inspectUpload(png)).contentType).toBe('image/png');
    expect((await inspectUpload(webp)).contentType).toBe('image/webp');
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
    expect(await inspectUpload(pdf)).toEqual({ contentType: 'application/pdf', bytes: pdf });
  });

  it('refuses what is not one of the four types whatever it is called: 415', async () => {
    expect(sniffType(Buffer.from('MZ\x90\x00 an executable'))).toBeUndefined();
    expect((await refusal(Buffer.from('\x7fELF\x02\x01\x01 renamed photo.jpg'))).status).toBe(415);
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00');
    expect((await refusal(gif)).status).toBe(415);
  });

  it('refuses a truncated or corrupt image and a truncated PDF: 422', async () => {
    const photo = await photoWithGps();
    expect((await refusal(photo.subarray(0, Math.floor(photo.length / 2)))).status).toBe(422);
    const png = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#123456' } })
      .png()
      .toBuffer();
    expect((await refusal(png.subarray(0, png.length - 40))).status).toBe(422);
    expect((await refusal(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(500, 7)]))).status).toBe(422);
    expect((await refusal(Buffer.from('%PDF-1.4\n1 0 obj <<'))).status).toBe(422);
  });

  it('refuses images over 15 MB, PDFs over 25 MB and images of too many pixels: 413', async () => {
    const bigImage = Buffer.alloc(MEDIA_MAX_BYTES.image + 1);
    Buffer.from([0xff, 0xd8, 0xff]).copy(bigImage);
    expect((await refusal(bigImage)).status).toBe(413);
    const bigPdf = Buffer.alloc(MEDIA_MAX_BYTES.pdf + 1);
    bigPdf.write('%PDF-1.7');
    expect((await refusal(bigPdf)).status).toBe(413);
    const bomb = await sharp({ create: { width: 10_000, height: 7_000, channels: 3, background: '#000000' } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    expect(bomb.length).toBeLessThan(MEDIA_MAX_BYTES.image);
    expect((await refusal(bomb)).status).toBe(413);
  });
});

describe('FsObjectStore and MediaLibrary', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'lm-media-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('refuses keys that could leave its directory', async () => {
    const store = new FsObjectStore(join(root, 'media'));
    for (const key of ['../secrets.json', 'blobs/../../x', '/etc/passwd', 'blobs/.hidden', 'blobs', 'blobs/a b']) {
      await expect(store.read(key)).rejects.toBeInstanceOf(InvalidObjectKey);
      await expect(store.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidObjectKey);
    }
    expect(readdirSync(root)).toEqual([]);
  });

  it('stores bytes once per content, a record per upload, and lists and deletes them', async () => {
    const library = new MediaLibrary(new FsObjectStore(root));
    const photo = await photoWithGps();
    const owner = { kind: 'store', storeId: 's1' } as const;
    const first = await library.upload(photo, { name: '../../IMG 0001 (1).JPG', owner, uploadedBy: 't1' });
    const second = await library.upload(photo, { name: 'again.jpg', owner, uploadedBy: 't1' });
    expect(second.mediaId).not.toBe(first.mediaId);
    expect(second.sha256).toBe(first.sha256);
    expect(first).toMatchObject({ name: 'IMG 0001 _1_.jpg', contentType: 'image/jpeg', owner, uploadedBy: 't1' });
    expect(await library.record(first.mediaId)).toEqual(first);
    expect(await library.record('../../etc/passwd')).toBeUndefined();

    const keys: string[] = [];
    for await (const object of library.store.list('blobs/')) keys.push(object.key);
    expect(keys.sort()).toEqual(
      [first.sha256, first.thumbnail!.sha256].map((sha) => `blobs/${sha.slice(0, 2)}/${sha}`).sort(),
    );
    const opened = await library.open(first, 'thumbnail');
    expect(opened).toMatchObject({ size: first.thumbnail!.size, contentType: 'image/jpeg' });
    opened!.stream.destroy();
    await library.store.delete(`records/${first.mediaId}.json`);
    expect(await library.record(first.mediaId)).toBeUndefined();
  });

  it('names files safely', () => {
    expect(safeName('C:\\Users\\x\\plan "A".pdf', 'application/pdf')).toBe('plan _A_.pdf');
    expect(safeName('.htaccess', 'image/png')).toBe('file.png');
    expect(safeName(undefined, 'image/webp')).toBe('file.webp');
    expect(safeName('a'.repeat(300) + '.jpg', 'image/jpeg')).toHaveLength(100);
  });
});

describe('sweepMedia', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'lm-sweep-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('keeps what is used, in its retention or young; deletes the rest, and blobs no record names', async () => {
    const store = new FsObjectStore(root);
    const library = new MediaLibrary(store);
    const owner = { kind: 'head-office' } as const;
    const upload = (width: number) =>
      testPhoto(width, 100).then((photo) => library.upload(photo, { owner, uploadedBy: 'editor' }));
    const [report, live, recent, old, orphan, shared] = await Promise.all([
      upload(101),
      upload(102),
      upload(103),
      upload(104),
      upload(105),
      upload(101), // the same bytes as `report`: one blob, two records
    ]);
    const day = 86_400_000;
    const now = new Date(Date.now() + 2 * day);
    const uses: Record<string, MediaUseView> = {
      [report.mediaId]: { report: true, communications: [] },
      [live.mediaId]: { report: false, communications: [{ id: 'c-live' }] },
      [recent.mediaId]: {
        report: false,
        communications: [{ id: 'c1', endedAt: new Date(now.getTime() - day).toISOString() }],
      },
      [old.mediaId]: {
        report: false,
        communications: [{ id: 'c2', endedAt: new Date(now.getTime() - 40 * day).toISOString() }],
      },
      [shared.mediaId]: { report: false, communications: [] },
    };
    const useOf = async (id: string): Promise<MediaUseView> => uses[id] ?? { report: false, communications: [] };
    const options = { now, unreferencedGraceMs: day, retentionMs: 30 * day };

    const dry = await sweepMedia(store, useOf, { ...options, dryRun: true });
    expect(dry).toMatchObject({ records: 6, kept: 3, deleted: { unreferenced: 2, retention: 1 }, dryRun: true });
    expect(await library.record(orphan.mediaId)).toBeDefined();

    const swept = await sweepMedia(store, useOf, options);
    expect(swept).toMatchObject({ records: 6, kept: 3, deleted: { unreferenced: 2, retention: 1 } });
    for (const gone of [old, orphan, shared]) expect(await library.record(gone.mediaId)).toBeUndefined();
    for (const kept of [report, live, recent]) expect(await library.record(kept.mediaId)).toBeDefined();
    // `shared` went, but its bytes are `report`'s: still there. `old` and `orphan` took theirs along.
    expect(await store.exists(blobKey(report.sha256))).toBe(true);
    expect(await store.exists(blobKey(old.sha256))).toBe(false);
    expect(await store.exists(blobKey(orphan.thumbnail!.sha256))).toBe(false);
    expect(swept.blobs).toBe(4);
    expect(await sweepMedia(store, useOf, options)).toMatchObject({ records: 3, kept: 3, blobs: 0 });
  });

  it('never deletes a young blob no record names yet (an upload writing its record)', async () => {
    const store = new FsObjectStore(root);
    await store.put(blobKey('a'.repeat(64)), Buffer.from('bytes'));
    const report = await sweepMedia(store, async () => ({ report: false, communications: [] }), {
      now: new Date(),
      unreferencedGraceMs: 60_000,
      retentionMs: 0,
    });
    expect(report.blobs).toBe(0);
    expect(await store.exists(blobKey('a'.repeat(64)))).toBe(true);
  });
});
