import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import request from 'supertest';
import type { MediaUploaded } from '@lastmeter/contracts';
import { ensureS3ProxyJar, freePort, lastmeterHome, LocalS3Proxy } from '@lastmeter/infra';
import { blobKey, InvalidObjectKey, S3ObjectStore } from '@lastmeter/media';
import { startApp, stopApps, type RunningApp } from '../support/apps';
import { requireEnv, testNamespace } from '../support/env';
import { bearer, tokenFor } from '../support/write-api';
import { testPhoto } from '../../libs/media/src/test-photo';

/**
 * Issue 19: the S3 media driver against a real S3-compatible server, S3Proxy
 * (`org.gaul:s3proxy` from Maven Central, Java 17, filesystem backend, AWS signatures
 * checked; libs/infra/src/s3proxy.ts says why not S3Mock), on its own and behind a gateway
 * with MEDIA_DRIVER=s3.
 */
const root = mkdtempSync(join(requireEnv('LASTMETER_TEST_ROOT'), 's3-'));
const BUCKET = 'lastmeter-media';
const credentials = { accessKeyId: 'lastmeter-test', secretAccessKey: 'lastmeter-test-secret' };
let s3: LocalS3Proxy;
let store: S3ObjectStore;

beforeAll(async () => {
  const jar = await ensureS3ProxyJar(join(lastmeterHome().root, 's3proxy'));
  s3 = new LocalS3Proxy({
    jar,
    port: await freePort(),
    dataDir: join(root, 'data'),
    logDir: join(root, 'logs'),
    credentials,
  });
  await s3.start();
  store = new S3ObjectStore({ bucket: BUCKET, endpoint: s3.endpoint, forcePathStyle: true, credentials });
  await store.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
}, 240_000);

afterAll(async () => {
  store?.client.destroy();
  await s3?.stop();
});

describe('S3ObjectStore', () => {
  it('puts, reads, streams, lists and deletes objects', async () => {
    const bytes = Buffer.from('a planogram, as bytes');
    const key = 'blobs/ab/ab-test-object';
    expect(await store.exists(key)).toBe(false);
    expect(await store.read(key)).toBeUndefined();
    expect(await store.open(key)).toBeUndefined();
    await store.put(key, bytes, 'application/octet-stream');
    expect(await store.exists(key)).toBe(true);
    expect(await store.read(key)).toEqual(bytes);
    const opened = (await store.open(key))!;
    expect(opened.size).toBe(bytes.length);
    const chunks: Buffer[] = [];
    for await (const chunk of opened.stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(bytes);
    const listed: string[] = [];
    for await (const object of store.list('blobs/')) listed.push(object.key);
    expect(listed).toContain(key);
    await store.delete(key);
    expect(await store.exists(key)).toBe(false);
    await store.delete(key); // already gone: no error
  });

  it('presigns a GET that answers with the headers asked for, and only until it expires', async () => {
    const key = 'blobs/cd/cd-presigned';
    await store.put(key, Buffer.from('%PDF-1.4 …'), 'application/pdf');
    const url = await store.presign(key, 60, {
      contentType: 'application/pdf',
      contentDisposition: 'inline; filename="guide.pdf"',
      cacheControl: 'private, max-age=60',
    });
    expect(url.startsWith(`${s3.endpoint}/${BUCKET}/${key}?`)).toBe(true);
    expect(url).toContain('X-Amz-Signature=');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    // The signature is checked: the same URL for another key, or tampered with, is refused.
    expect((await fetch(url.replace('cd-presigned', 'cd-other'))).status).toBe(403);
    expect(
      (await fetch(url.replace(/X-Amz-Signature=(.)/, (_, c: string) => `X-Amz-Signature=${c === 'a' ? 'b' : 'a'}`)))
        .status,
    ).toBe(403);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(response.headers.get('content-disposition')).toBe('inline; filename="guide.pdf"');
    expect(await response.text()).toBe('%PDF-1.4 …');
  });

  it('keeps keys under its prefix and refuses keys that could escape it before any request', async () => {
    const prefixed = new S3ObjectStore({
      bucket: BUCKET,
      prefix: 'tenant/',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials,
    });
    await prefixed.put('records/one.json', Buffer.from('{}'));
    expect(await store.exists('tenant/records/one.json')).toBe(true);
    expect(await store.exists('records/one.json')).toBe(false);
    const listed: string[] = [];
    for await (const object of prefixed.list('records/')) listed.push(object.key);
    expect(listed).toEqual(['records/one.json']);
    for (const key of ['../other/records/x.json', 'records/../../x', '/records/x', 'records/.x']) {
      await expect(prefixed.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidObjectKey);
    }
    prefixed.client.destroy();
  });
});

describe('a gateway with MEDIA_DRIVER=s3', () => {
  const ns = testNamespace('media-s3', {
    MEDIA_DRIVER: 's3',
    MEDIA_S3_BUCKET: BUCKET,
    MEDIA_S3_PREFIX: 'gateway/',
    MEDIA_S3_FORCE_PATH_STYLE: 'true',
    MEDIA_S3_DIRECT_LINKS: 'true',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  });
  let gateway: RunningApp;

  beforeAll(async () => {
    ns.env.MEDIA_S3_ENDPOINT = s3.endpoint;
    gateway = await startApp('gateway', ns.env);
  }, 60_000);
  afterAll(() => stopApps({ gateway }));

  it('stores uploads in the bucket, serves them, and links to the bucket directly', async () => {
    const editor = tokenFor(ns, 'hq-editor');
    const response = await request(gateway.url)
      .post('/v1/media')
      .set(bearer(editor))
      .attach('file', await testPhoto(1600, 1200), 'poster.jpg');
    expect(response.status).toBe(201);
    const uploaded = response.body as MediaUploaded;
    // In the bucket under the prefix: the re-encoded photo, its thumbnail and the record.
    const prefixed = new S3ObjectStore({
      bucket: BUCKET,
      prefix: 'gateway/',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials,
    });
    const bytes = (await prefixed.read(blobKey(uploaded.sha256)))!;
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(uploaded.sha256);
    expect((await sharp(bytes).metadata()).exif).toBeUndefined();
    expect(await prefixed.exists(`records/${uploaded.mediaId}.json`)).toBe(true);
    expect(await prefixed.exists(blobKey(uploaded.thumbnail!.sha256))).toBe(true);

    const served = await request(gateway.url).get(`/v1/media/${uploaded.mediaId}`).set(bearer(editor));
    expect(served.status).toBe(200);
    expect(served.headers['content-type']).toBe('image/jpeg');
    expect(Number(served.headers['content-length'])).toBe(uploaded.size);

    const link = await request(gateway.url)
      .get(`/v1/media/${uploaded.mediaId}/link?variant=thumbnail`)
      .set(bearer(editor));
    expect(link.status).toBe(200);
    const { url } = link.body as { url: string };
    expect(url.startsWith(`${s3.endpoint}/${BUCKET}/gateway/blobs/`)).toBe(true);
    // The web UIs' CSP lets pictures load from there.
    expect(new URL(url).origin).toBe(prefixed.publicOrigin());
    const thumbnail = await fetch(url);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers.get('content-type')).toBe('image/jpeg');
    expect(thumbnail.headers.get('content-disposition')).toBe('inline; filename="poster-thumbnail.jpg"');
    expect(Buffer.from(await thumbnail.arrayBuffer()).length).toBe(uploaded.thumbnail!.size);

    // A refused upload leaves nothing in the bucket.
    const before: string[] = [];
    for await (const object of prefixed.list('')) before.push(object.key);
    const refused = await request(gateway.url)
      .post('/v1/media')
      .set(bearer(editor))
      .attach('file', Buffer.from('MZ not an image'), 'x.jpg');
    expect(refused.status).toBe(415);
    const after: string[] = [];
    for await (const object of prefixed.list('')) after.push(object.key);
    expect(after.sort()).toEqual(before.sort());
    prefixed.client.destroy();
  });
});
