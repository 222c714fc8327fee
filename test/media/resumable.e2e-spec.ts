import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import request from 'supertest';
import { Upload } from 'tus-js-client';
import type { MediaUploaded } from '@lastmeter/contracts';
import { startApp, stopApps, type RunningApp } from '../support/apps';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { bearer, tokenFor, bytes } from '../support/write-api';
import { testPhoto } from '../../libs/media/src/test-photo';

/**
 * Issue 19: resumable uploads (tus, `/v1/media/uploads`) with the maintained client,
 * tus-js-client, against a real gateway: an upload cut off half-way resumes where it
 * stopped; the finished upload goes through the same checks as POST /v1/media; only its
 * uploader may touch it; an abandoned one is never visible and is swept.
 */
const ns = testNamespace('media-resumable', { MEDIA_UPLOAD_EXPIRY_S: '3' });
const uploadsDir = join(ns.env.MEDIA_DIR!, 'uploads');
let gateway: RunningApp;
const storeId = '7f1c2d3e-0000-4000-8000-000000000001';
const terminal = () => tokenFor(ns, 'terminal', { sub: 'terminal-1', storeId });
const otherTerminal = () => tokenFor(ns, 'terminal', { sub: 'terminal-2', storeId });

beforeAll(async () => {
  gateway = await startApp('gateway', ns.env);
}, 60_000);
afterAll(() => stopApps({ gateway }));

interface Outcome {
  url: string;
  status: number;
  body: unknown;
}

/** Uploads `bytes` with tus-js-client in chunks; `stopAfter` bytes, it aborts (the connection lost). */
function tusUpload(
  bytes: Buffer,
  token: string,
  options: { uploadUrl?: string; stopAfter?: number; filename?: string } = {},
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const upload: Upload = new Upload(bytes, {
      endpoint: `${gateway.url}/v1/media/uploads`,
      uploadUrl: options.uploadUrl,
      chunkSize: 64 * 1024,
      retryDelays: [],
      headers: bearer(token),
      metadata: { filename: options.filename ?? 'IMG_0042.JPG', filetype: 'image/jpeg' },
      storeFingerprintForResuming: false,
      onChunkComplete: (_chunk, accepted) => {
        if (options.stopAfter !== undefined && accepted >= options.stopAfter) {
          void upload.abort().then(() => resolve({ url: upload.url!, status: 0, body: undefined }));
        }
      },
      onSuccess: ({ lastResponse }) =>
        resolve({ url: upload.url!, status: lastResponse.getStatus(), body: JSON.parse(lastResponse.getBody()) }),
      onError: (error) => {
        const response = (error as { originalResponse?: { getStatus(): number; getBody(): string } }).originalResponse;
        if (response)
          resolve({ url: upload.url ?? '', status: response.getStatus(), body: safeJson(response.getBody()) });
        else reject(error);
      },
    });
    upload.start();
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const head = (url: string, token: string) =>
  request(url)
    .head('')
    .set({ ...bearer(token), 'tus-resumable': '1.0.0' });

it('resumes an upload cut off half-way where it stopped, and ends with the checked medium', async () => {
  const photo = await testPhoto(1200, 900, 'TestPhone', { noise: true });
  expect(photo.length).toBeGreaterThan(4 * 64 * 1024);
  const first = await tusUpload(photo, terminal(), { stopAfter: 2 * 64 * 1024 });
  const offset = Number((await head(first.url, terminal())).headers['upload-offset']);
  expect(offset).toBeGreaterThanOrEqual(2 * 64 * 1024);
  expect(offset).toBeLessThan(photo.length);
  // Only its uploader sees it.
  expect((await head(first.url, otherTerminal())).status).toBe(404);

  const done = await tusUpload(photo, terminal(), { uploadUrl: first.url });
  expect(done.status).toBe(200);
  const uploaded = done.body as MediaUploaded;
  expect(uploaded).toMatchObject({ contentType: 'image/jpeg', width: 900, height: 1200, name: 'IMG_0042.jpg' });
  const served = await request(gateway.url)
    .get(`/v1/media/${uploaded.mediaId}`)
    .set(bearer(terminal()))
    .buffer(true)
    .parse(bytes);
  expect(served.status).toBe(200);
  expect((await sharp(served.body as Buffer).metadata()).exif).toBeUndefined();
  // The partial upload is gone once the medium exists.
  expect((await head(first.url, terminal())).status).toBe(404);
  expect(readdirSync(uploadsDir).filter((f) => !f.startsWith('.'))).toEqual([]);
});

it('refuses a finished upload that is not a picture or PDF, and keeps nothing', async () => {
  const before = existsSync(join(ns.env.MEDIA_DIR!, 'records')) ? readdirSync(join(ns.env.MEDIA_DIR!, 'records')) : [];
  const executable = Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01\x00'), Buffer.alloc(100_000, 0x90)]);
  const refused = await tusUpload(executable, terminal(), { filename: 'photo.jpg' });
  expect(refused.status).toBe(415);
  expect(refused.body).toMatchObject({ fields: { file: [expect.stringContaining('unsupported media type')] } });
  const after = existsSync(join(ns.env.MEDIA_DIR!, 'records')) ? readdirSync(join(ns.env.MEDIA_DIR!, 'records')) : [];
  expect(after).toEqual(before);
  expect(readdirSync(uploadsDir).filter((f) => !f.startsWith('.'))).toEqual([]);
});

it('refuses uploads over 25 MB at creation, and roles that may not upload', async () => {
  const tooLarge = await request(gateway.url)
    .post('/v1/media/uploads')
    .set({ ...bearer(terminal()), 'tus-resumable': '1.0.0', 'upload-length': String(26 * 1024 * 1024) });
  expect(tooLarge.status).toBe(413);
  const analyst = await request(gateway.url)
    .post('/v1/media/uploads')
    .set({ ...bearer(tokenFor(ns, 'analyst')), 'tus-resumable': '1.0.0', 'upload-length': '100' });
  expect(analyst.status).toBe(403);
  const anonymous = await request(gateway.url)
    .post('/v1/media/uploads')
    .set({ 'tus-resumable': '1.0.0', 'upload-length': '100' });
  expect(anonymous.status).toBe(401);
});

it('an upload abandoned half-way is never a medium and is swept after MEDIA_UPLOAD_EXPIRY_S', async () => {
  const photo = await testPhoto(1200, 900, 'TestPhone', { noise: true });
  const abandoned = await tusUpload(photo, terminal(), { stopAfter: 64 * 1024 });
  const id = abandoned.url.split('/').pop()!;
  expect(existsSync(join(uploadsDir, id))).toBe(true);
  await eventually(
    async () => {
      expect(existsSync(join(uploadsDir, id))).toBe(false);
      expect([404, 410]).toContain((await head(abandoned.url, terminal())).status);
    },
    { timeoutMs: 20_000, what: 'the abandoned upload swept' },
  );
});
