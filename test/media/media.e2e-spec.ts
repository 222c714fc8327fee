import { createHash, randomUUID } from 'node:crypto';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import exif from 'exif-reader';
import sharp from 'sharp';
import request from 'supertest';
import {
  MEDIA_MAX_BYTES,
  topicNames,
  type DomainEvent,
  type FeedItem,
  type FeedMessage,
  type MediaRef,
  type MediaUploaded,
  type ReportView,
  type StoreCompliance,
} from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApp, startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { expectNothingWritten, writeSnapshot } from '../support/no-writes';
import { settled } from '../support/read-side';
import { bearer, Publisher, bytes } from '../support/write-api';
import { MediaLinks } from '../../apps/gateway/src/media/media-links';
import { testPhoto } from '../../libs/media/src/test-photo';

/**
 * Issue 19, media: uploads through the gateway into the file media store (sniffed,
 * limited, EXIF removed, thumbnails), served only to readers allowed to see them, with a
 * token or a signed link; every refusal writes nothing (no file, no event, no key).
 */
const ns = testNamespace('media', { MEDIA_UPLOADS_QUEUE: '1' });
const mediaDir = ns.env.MEDIA_DIR!;
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let storeA: string;
let storeB: string;
let terminalA: string;
let terminalB: string;

/** A phone photo: 2000×1500 JPEG with EXIF GPS, the phone's make and an orientation. */
const photo = () => testPhoto(2000, 1500, 'ShopFloorPhone');

/** Every file under the media directory, by path relative to it. */
function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
      .sort();
  } catch {
    return [];
  }
}

const upload = (token: string, bytes: Buffer, filename: string) =>
  request(apps.gateway.url).post('/v1/media').set(bearer(token)).attach('file', bytes, filename);

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
  const region = await api.region('media');
  storeA = await api.store('MA', region);
  storeB = await api.store('MB', region);
  terminalA = (await api.terminal(storeA)).token;
  terminalB = (await api.terminal(storeB)).token;
});

afterAll(async () => {
  await stopApps(apps);
  await cleanupNamespace(ns).catch(() => undefined);
});

describe('a photo from a store tablet', () => {
  let uploaded: MediaUploaded;

  beforeAll(async () => {
    const input = await photo();
    expect(exif((await sharp(input).metadata()).exif!).GPSInfo).toBeDefined();
    const response = await upload(terminalA, input, 'IMG_0001.JPG');
    expect(response.status).toBe(201);
    uploaded = response.body as MediaUploaded;
  });

  it('is stored re-encoded, upright, without EXIF or GPS, under its sha256', async () => {
    expect(uploaded).toMatchObject({
      mediaId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      contentType: 'image/jpeg',
      width: 1500,
      height: 2000,
      name: 'IMG_0001.jpg',
      thumbnail: { width: 360, height: 480, contentType: 'image/jpeg' },
    });
    const blob = join(mediaDir, 'blobs', uploaded.sha256.slice(0, 2), uploaded.sha256);
    const stored = readFileSync(blob);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(uploaded.sha256);
    expect(stored.length).toBe(uploaded.size);
    const metadata = await sharp(stored).metadata();
    expect(metadata.exif).toBeUndefined();
    expect(stored.includes('ShopFloorPhone')).toBe(false);
  });

  it('is served to its own store and to head office, with safe headers', async () => {
    for (const token of [terminalA, api.token('store-manager', { storeId: storeA }), api.token('hq-editor')]) {
      const response = await request(apps.gateway.url)
        .get(`/v1/media/${uploaded.mediaId}`)
        .set(bearer(token))
        .buffer(true)
        .parse(bytes);
      expect(response.status).toBe(200);
      expect(
        createHash('sha256')
          .update(response.body as Buffer)
          .digest('hex'),
      ).toBe(uploaded.sha256);
      expect(response.headers).toMatchObject({
        'content-type': 'image/jpeg',
        'x-content-type-options': 'nosniff',
        'content-disposition': 'inline; filename="IMG_0001.jpg"',
        etag: `"${uploaded.sha256}"`,
      });
      expect(response.headers['content-security-policy']).toContain("default-src 'none'");
      expect(response.headers['cache-control']).toMatch(/^private/);
    }
    const thumbnail = await request(apps.gateway.url)
      .get(`/v1/media/${uploaded.mediaId}?variant=thumbnail`)
      .set(bearer(terminalA));
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers['content-type']).toBe('image/jpeg');
    // A card loads tens of kilobytes, not the original.
    expect(Number(thumbnail.headers['content-length'])).toBeLessThan(uploaded.size / 4);
    const info = await request(apps.gateway.url).get(`/v1/media/${uploaded.mediaId}/info`).set(bearer(terminalA));
    expect(info.body).toMatchObject({ ...uploaded, owner: { kind: 'store', storeId: storeA } });
  });

  it('is not found for another store, a revoked tablet, or no token', async () => {
    for (const path of ['', '/info', '/link', '?variant=thumbnail']) {
      const url = `/v1/media/${uploaded.mediaId}${path}`;
      expect((await request(apps.gateway.url).get(url).set(bearer(terminalB))).status).toBe(404);
      const manager = api.token('store-manager', { storeId: storeB });
      expect((await request(apps.gateway.url).get(url).set(bearer(manager))).status).toBe(404);
      expect((await request(apps.gateway.url).get(url)).status).toBe(401);
    }
    const revoked = await api.terminal(storeA);
    const before = await request(apps.gateway.url).get(`/v1/media/${uploaded.mediaId}`).set(bearer(revoked.token));
    expect(before.status).toBe(200);
    await api.revokeTerminal(revoked.terminalId);
    await eventually(async () => {
      const response = await request(apps.gateway.url).get(`/v1/media/${uploaded.mediaId}`).set(bearer(revoked.token));
      expect(response.status).toBe(401);
    });
  });

  it('opens through a signed link for 5 minutes, and never with a forged or expired one', async () => {
    const link = await request(apps.gateway.url)
      .get(`/v1/media/${uploaded.mediaId}/link?variant=thumbnail`)
      .set(bearer(terminalA));
    expect(link.status).toBe(200);
    const { url, expiresAt } = link.body as { url: string; expiresAt: string };
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);
    const opened = await request(apps.gateway.url).get(url);
    expect(opened.status).toBe(200);
    expect(opened.headers['content-type']).toBe('image/jpeg');
    // The thumbnail's link does not open the original.
    expect((await request(apps.gateway.url).get(url.replace('variant=thumbnail', 'variant=original'))).status).toBe(
      403,
    );
    const forged = url.replace(/signature=(.)/, (_, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`);
    expect((await request(apps.gateway.url).get(forged)).status).toBe(403);
    const links = new MediaLinks(ns.env.LASTMETER_JWT_SECRET!);
    const expired = links.sign(uploaded.mediaId, 'original', Date.now() - 301_000);
    expect((await request(apps.gateway.url).get(expired.path)).status).toBe(403);
    const fresh = links.sign(uploaded.mediaId, 'original');
    expect((await request(apps.gateway.url).get(fresh.path)).status).toBe(200);
  });
});

describe('head office documents', () => {
  it('takes a PDF from an editor and serves it inline to head office', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    const response = await upload(api.token('hq-editor'), pdf, 'Planogram week 49.pdf');
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      contentType: 'application/pdf',
      size: pdf.length,
      name: 'Planogram week 49.pdf',
    });
    expect(response.body.thumbnail).toBeUndefined();
    const served = await request(apps.gateway.url)
      .get(`/v1/media/${response.body.mediaId}`)
      .set(bearer(api.token('analyst')));
    expect(served.headers['content-type']).toBe('application/pdf');
    expect(served.headers['content-security-policy']).toContain("default-src 'none'");
    // Head office media are not a store's: stores read them through the communication that carries them.
    const store = await request(apps.gateway.url).get(`/v1/media/${response.body.mediaId}`).set(bearer(terminalA));
    expect(store.status).toBe(404);
  });
});

describe('bad uploads: a clear 4xx, per-field errors, and nothing written', () => {
  it('refuses each of them and leaves no file, no event and no key', async () => {
    const files = filesIn(mediaDir).filter((f) => !f.startsWith('tmp'));
    const before = await writeSnapshot(ns);
    const good = await photo();
    const executable = Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01\x00'), Buffer.alloc(4096, 0x90)]);
    const bigImage = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(MEDIA_MAX_BYTES.image, 1)]);
    const tooBig = Buffer.alloc(MEDIA_MAX_BYTES.pdf + 1024, 0x25);
    const cases: Array<[string, () => request.Test, number, string]> = [
      ['renamed executable', () => upload(terminalA, executable, 'photo.jpg'), 415, 'file'],
      ['truncated photo', () => upload(terminalA, good.subarray(0, good.length >> 1), 'cut.jpg'), 422, 'file'],
      [
        'truncated PDF',
        () => upload(api.token('hq-editor'), Buffer.from('%PDF-1.7\n1 0 obj <<'), 'cut.pdf'),
        422,
        'file',
      ],
      ['image over 15 MB', () => upload(terminalA, bigImage, 'big.jpg'), 413, 'file'],
      ['body over 25 MB', () => upload(api.token('hq-editor'), tooBig, 'huge.pdf'), 413, 'file'],
      [
        'a field besides the file',
        () =>
          request(apps.gateway.url)
            .post('/v1/media')
            .set(bearer(terminalA))
            .field('storeId', storeB)
            .attach('file', good, 'a.jpg'),
        400,
        'storeId',
      ],
      [
        'the file in another field',
        () => request(apps.gateway.url).post('/v1/media').set(bearer(terminalA)).attach('photo', good, 'a.jpg'),
        400,
        'photo',
      ],
      [
        'no file at all',
        () =>
          request(apps.gateway.url)
            .post('/v1/media')
            .set(bearer(terminalA))
            .set('content-type', 'multipart/form-data; boundary=xyz')
            .send('--xyz--\r\n'),
        400,
        'file',
      ],
      [
        'JSON instead of multipart',
        () => request(apps.gateway.url).post('/v1/media').set(bearer(terminalA)).send({ url: 'http://x/y.jpg' }),
        415,
        'file',
      ],
    ];
    for (const [what, send, status, field] of cases) {
      const response = await send();
      expect({ what, status: response.status }).toEqual({ what, status });
      expect({ what, fields: Object.keys(response.body.fields ?? {}) }).toEqual({ what, fields: [field] });
    }
    // Roles that may not upload, and no token.
    expect((await upload(api.token('analyst'), good, 'a.jpg')).status).toBe(403);
    expect((await request(apps.gateway.url).post('/v1/media').attach('file', good, 'a.jpg')).status).toBe(401);
    expect(filesIn(mediaDir).filter((f) => !f.startsWith('tmp'))).toEqual(files);
    expect(filesIn(join(mediaDir, 'tmp'))).toEqual([]);
    await expectNothingWritten(ns, before);
  });

  it('reads nothing outside the store whatever the path or query says', async () => {
    for (const path of [
      '/v1/media/..%2F..%2Fsecrets.json',
      '/v1/media/..%2Fblobs',
      '/v1/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd/info',
      '/v1/media/00000000-0000-4000-8000-000000000000/..%2F..%2F..%2Fetc%2Fpasswd',
    ]) {
      const response = await request(apps.gateway.url)
        .get(path)
        .set(bearer(api.token('hq-admin')));
      expect({ path, status: response.status }).toEqual({ path, status: expect.any(Number) });
      expect([400, 404]).toContain(response.status);
      expect(response.text).not.toMatch(/root:|LASTMETER/);
    }
    const unknown = await request(apps.gateway.url)
      .get('/v1/media/00000000-0000-4000-8000-000000000000')
      .set(bearer(api.token('hq-admin')));
    expect(unknown.status).toBe(404);
    const badVariant = await request(apps.gateway.url)
      .get('/v1/media/00000000-0000-4000-8000-000000000000?variant=../../x')
      .set(bearer(api.token('hq-admin')));
    expect(badVariant.status).toBe(400);
    expect(Object.keys(badVariant.body.fields)).toEqual(['variant']);
    expect(statSync(mediaDir).isDirectory()).toBe(true);
  });
});

describe('uploads at once', () => {
  /** An upload whose body is still coming: headers and the start of the file sent, the rest held back. */
  function slowUpload(token: string): { request: ClientRequest; answered: Promise<number> } {
    const boundary = 'slowupload';
    const url = new URL('/v1/media', apps.gateway.url);
    const req = httpRequest(url, {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    req.write(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.jpg"\r\n` +
        'Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff',
    );
    const answered = new Promise<number>((resolve) => {
      req.on('response', (response) => resolve(response.statusCode ?? 0));
      req.on('error', () => resolve(0));
    });
    return { request: req, answered };
  }

  /** The gateway's own count of uploads, by state (`/metrics`). */
  async function uploadsNow(): Promise<{ active: number; waiting: number }> {
    const text = await (await fetch(`${apps.gateway.url}/metrics`)).text();
    const read = (state: string) =>
      Number(new RegExp(`^lastmeter_media_uploads\\{[^}]*state="${state}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1]);
    return { active: read('active'), waiting: read('waiting') };
  }

  it('receives MEDIA_UPLOADS_MAX (4) at once, queues MEDIA_UPLOADS_QUEUE (1 here) in order, and answers 503 beyond', async () => {
    const slow = [1, 2, 3, 4].map(() => slowUpload(terminalA));
    let queued: Promise<number> | undefined;
    try {
      await eventually(async () => expect(await uploadsNow()).toEqual({ active: 4, waiting: 0 }));
      queued = upload(terminalA, await photo(), 'fifth.jpg').then((r) => r.status);
      await eventually(async () => expect(await uploadsNow()).toEqual({ active: 4, waiting: 1 }));
      const refused = await upload(terminalA, await photo(), 'sixth.jpg');
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('2');
    } finally {
      // A tablet that loses its connection mid-upload gives its slot back: the one waiting goes in.
      for (const { request } of slow) request.destroy();
      await Promise.all(slow.map((s) => s.answered));
    }
    expect(await queued).toBe(201);
    await eventually(async () => expect(await uploadsNow()).toEqual({ active: 0, waiting: 0 }));
  });
});

describe('photo evidence and report attachments from a tablet', () => {
  const clients: TerminalClient[] = [];
  afterAll(() => clients.forEach((c) => c.close()));

  async function tablet(token: string): Promise<{ client: TerminalClient; ids: string[] }> {
    const client = new TerminalClient({ url: apps.gateway.url, token, cursors: new MemoryCursorStore() });
    clients.push(client);
    const ids: string[] = [];
    client.onItem((item) => 'communication' in item && ids.push(item.communication.id));
    await client.connect();
    return { client, ids };
  }

  it('completes a photo task with its own photo: the fact carries the reference, head office sees it', async () => {
    const { client, ids } = await tablet(terminalA);
    const task = await api.publish({
      kind: 'task',
      title: 'Endcap display',
      body: 'Build the endcap and take a photo',
      evidence: 'photo',
      dueAt: new Date(Date.now() + 86_400_000).toISOString(),
      audience: { storeIds: [storeA] },
    });
    await eventually(() => expect(ids).toContain(task));
    const photo = (await upload(terminalA, await testPhoto(1200, 900), 'endcap.jpg')).body as MediaUploaded;
    const otherStores = (await upload(terminalB, await testPhoto(600, 400), 'b.jpg')).body as MediaUploaded;
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n');
    const document = (await upload(terminalA, pdf, 'receipt.pdf')).body as MediaUploaded;

    // Another store's photo, a document, an unknown id: refused per field, nothing written.
    const before = await writeSnapshot(ns);
    for (const [photoMediaId, reason] of [
      [otherStores.mediaId, 'no medium of this store'],
      [document.mediaId, 'must be a photo'],
      ['00000000-0000-4000-8000-000000000000', 'no medium of this store'],
    ]) {
      const ack = await client.send('task.complete', { communicationId: task, revision: 1, photoMediaId });
      expect(ack).toEqual({
        ok: false,
        error: { message: expect.any(String), fields: { photoMediaId: [expect.stringContaining(reason)] } },
      });
    }
    const badId = await client.send('task.complete', { communicationId: task, revision: 1, photoMediaId: '../x' });
    expect(Object.keys(badId.error?.fields ?? {})).toEqual(['photoMediaId']);
    await expectNothingWritten(ns, before);

    expect(
      await client.send('task.complete', {
        communicationId: task,
        revision: 1,
        note: 'Done',
        photoMediaId: photo.mediaId,
      }),
    ).toEqual({ ok: true });
    const ref = {
      mediaId: photo.mediaId,
      sha256: photo.sha256,
      contentType: 'image/jpeg',
      size: photo.size,
      width: photo.width,
      height: photo.height,
    };
    const facts = await eventually(async () => {
      const entries = await readTopic<DomainEvent<'task.completed'>>(ns.env.KAFKA_BROKERS!, topics.storeEvents);
      const completed = entries.filter(
        (e) => e.value.type === 'task.completed' && e.value.data.communicationId === task,
      );
      expect(completed).toHaveLength(1);
      return completed;
    });
    expect(facts[0].value.data).toMatchObject({ storeId: storeA, note: 'Done', photo: ref });

    const hq = bearer(api.token('hq-editor'));
    const board = await eventually(async () => {
      const response = await request(apps.gateway.url).get('/v1/compliance').set(hq);
      const row = (response.body.items as StoreCompliance[]).find((s) => s.storeId === storeA);
      const shown = row?.tasks.find((t) => t.communicationId === task);
      expect(shown?.completed).toBe(true);
      return shown!;
    });
    expect(board.evidence).toMatchObject({ revision: 1, note: 'Done', photo: ref, completedAt: expect.any(String) });
    const evidence = await request(apps.gateway.url).get(`/v1/communications/${task}/evidence`).set(hq);
    expect(evidence.status).toBe(200);
    expect(evidence.body).toEqual({
      communicationId: task,
      items: [expect.objectContaining({ storeId: storeA, photo: ref, note: 'Done' })],
    });
    const thumbnail = await request(apps.gateway.url).get(`/v1/media/${photo.mediaId}?variant=thumbnail`).set(hq);
    expect(thumbnail.status).toBe(200);
    // Stores do not read the evidence board.
    const asStore = await request(apps.gateway.url).get(`/v1/communications/${task}/evidence`).set(bearer(terminalA));
    expect(asStore.status).toBe(403);
  });

  it('files a report with photos of its store, in order; another store’s media are refused', async () => {
    const { client } = await tablet(terminalA);
    const first = (await upload(terminalA, await testPhoto(800, 600), 'shelf.jpg')).body as MediaUploaded;
    const second = (await upload(terminalA, await testPhoto(640, 480), 'label.jpg')).body as MediaUploaded;
    const theirs = (await upload(terminalB, await testPhoto(640, 480), 'theirs.jpg')).body as MediaUploaded;
    const report = { title: 'Broken shelf', body: 'Aisle 4, see photos' };
    const refused = await client.send('report.file', {
      ...report,
      attachments: [{ mediaId: first.mediaId }, { mediaId: theirs.mediaId }],
    });
    expect(refused.error?.fields).toEqual({ attachments: [expect.stringContaining(theirs.mediaId)] });
    const tooMany = Array.from({ length: 11 }, () => ({ mediaId: first.mediaId }));
    expect((await client.send('report.file', { ...report, attachments: tooMany })).error?.fields).toHaveProperty(
      'attachments',
    );
    const reportId = randomUUID();
    const ack = await client.send('report.file', {
      ...report,
      reportId,
      attachments: [{ mediaId: second.mediaId }, { mediaId: first.mediaId }],
    });
    expect(ack).toEqual({ ok: true });
    const filed = await eventually(async () => {
      const response = await request(apps.gateway.url)
        .get('/v1/reports')
        .set(bearer(api.token('hq-editor')));
      const found = (response.body.items as ReportView[]).find((r) => r.reportId === reportId);
      expect(found).toBeDefined();
      return found!;
    });
    expect(filed.attachments?.map((a) => a.mediaId)).toEqual([second.mediaId, first.mediaId]);
    expect(filed.attachments?.[0]).toMatchObject({ sha256: second.sha256, contentType: 'image/jpeg', width: 480 });
  });
});

describe('field reports over HTTP', () => {
  it('a store manager files a report with the store’s photos; another store’s are refused, nothing written', async () => {
    const manager = api.token('store-manager', { storeId: storeA });
    const mine = (await upload(manager, await testPhoto(500, 400), 'door.jpg')).body as MediaUploaded;
    const theirs = (await upload(terminalB, await testPhoto(500, 400), 'b.jpg')).body as MediaUploaded;
    const file = (attachments: Array<{ mediaId: string }>) =>
      request(apps.command.url)
        .post(`/v1/stores/${storeA}/reports`)
        .set(bearer(manager))
        .send({ title: 'Broken door', body: 'The back door does not lock.', attachments });
    const before = await writeSnapshot(ns);
    const refused = await file([{ mediaId: mine.mediaId }, { mediaId: theirs.mediaId }]);
    expect(refused.status).toBe(400);
    expect(Object.keys(refused.body.fields)).toEqual(['attachments.1.mediaId']);
    await expectNothingWritten(ns, before);
    const filed = await file([{ mediaId: mine.mediaId }]);
    expect(filed.status).toBe(201);
    await eventually(async () => {
      const reports = await request(apps.gateway.url)
        .get('/v1/reports')
        .set(bearer(api.token('hq-editor')));
      const report = (reports.body.items as ReportView[]).find((r) => r.title === 'Broken door');
      expect(report?.attachments?.map((a) => a.mediaId)).toEqual([mine.mediaId]);
    });
  });
});

describe('head office attachments on communications', () => {
  const clients: TerminalClient[] = [];
  afterAll(() => clients.forEach((c) => c.close()));
  const editor = () => bearer(api.token('hq-editor'));
  const guide = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n');

  async function tablet(token: string): Promise<FeedMessage[]> {
    const client = new TerminalClient({ url: apps.gateway.url, token, cursors: new MemoryCursorStore() });
    clients.push(client);
    const received: FeedMessage[] = [];
    client.onItem((item) => received.push(item));
    await client.connect();
    return received;
  }
  const itemsOf = (received: FeedMessage[], id: string) =>
    received.filter((m): m is FeedItem => 'communication' in m && m.communication.id === id);
  const refOf = ({ mediaId, sha256, contentType, size, width, height }: MediaUploaded) =>
    JSON.parse(JSON.stringify({ mediaId, sha256, contentType, size, width, height })) as MediaRef;

  it('carries attachments and a cover to the targeted stores only; a revision changes them; asOf shows them as they were', async () => {
    const pdf = (await upload(api.token('hq-editor'), guide, 'Planogram.pdf')).body as MediaUploaded;
    const poster = (await upload(api.token('agency'), await testPhoto(1600, 900), 'poster.jpg')).body as MediaUploaded;
    const received = await tablet(terminalA);
    const drafted = await request(apps.command.url)
      .post('/v1/communications')
      .set(editor())
      .send({
        kind: 'campaign',
        title: 'Winter campaign',
        body: 'Posters up by Friday',
        audience: { storeIds: [storeA] },
        attachments: [{ mediaId: pdf.mediaId, name: 'Planogram week 49' }, { mediaId: poster.mediaId }],
        cover: { mediaId: poster.mediaId },
      });
    expect(drafted.status).toBe(201);
    const id = drafted.body.id as string;
    await api.send('post', `/v1/communications/${id}/publish`);
    const first = await eventually(() => {
      const [item] = itemsOf(received, id);
      expect(item).toBeDefined();
      return item;
    });
    expect(first.communication.attachments).toEqual([
      { ...refOf(pdf), name: 'Planogram week 49' },
      { ...refOf(poster), name: 'poster.jpg' },
    ]);
    expect(first.communication.cover).toEqual(refOf(poster));

    // The targeted store's tablet opens them (once projected: the tablet had the item on
    // commit, and the check waits for the projection only ~2 s); another store's does not.
    for (const media of [pdf, poster]) {
      await eventually(async () =>
        expect((await request(apps.gateway.url).get(`/v1/media/${media.mediaId}`).set(bearer(terminalA))).status).toBe(
          200,
        ),
      );
      expect((await request(apps.gateway.url).get(`/v1/media/${media.mediaId}`).set(bearer(terminalB))).status).toBe(
        404,
      );
    }
    const link = await request(apps.gateway.url)
      .get(`/v1/media/${poster.mediaId}/link?variant=thumbnail`)
      .set(bearer(terminalA));
    expect((await request(apps.gateway.url).get(link.body.url)).status).toBe(200);

    // A revision: the PDF alone, no cover.
    const beforeRevision = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const { version: revision } = await api.revise(id, { attachments: [{ mediaId: pdf.mediaId }], cover: null });
    const revised = await eventually(() => {
      const item = itemsOf(received, id).find((m) => m.communication.revision === 2);
      expect(item).toBeDefined();
      return item!;
    });
    expect(revised.communication.attachments).toEqual([{ ...refOf(pdf), name: 'Planogram.pdf' }]);
    expect(revised.communication).not.toHaveProperty('cover');
    // The revision's own version: the terminal has its item on commit, before the projector
    // wrote it. minVersion answers after 5 s with what the read side has: a busy projector
    // may need longer.
    const now = await eventually(async () => {
      const response = await request(apps.gateway.url)
        .get(`/v1/communications/${id}?minVersion=${revision}`)
        .set(editor());
      expect(response.body.version).toBeGreaterThanOrEqual(revision);
      return response;
    });
    expect(now.body.attachments).toHaveLength(1);
    expect(now.body).not.toHaveProperty('cover');
    const then = await request(apps.gateway.url).get(`/v1/communications/${id}?asOf=${beforeRevision}`).set(editor());
    expect(then.status).toBe(200);
    expect(then.body.attachments.map((a: { mediaId: string }) => a.mediaId)).toEqual([pdf.mediaId, poster.mediaId]);
    expect(then.body.cover).toEqual(refOf(poster));
  });

  it('opens an attachment of an item handed out on commit once the projection has it: 503 with Retry-After while none runs, another store 404', async () => {
    const pdf = (await upload(api.token('hq-editor'), guide, 'Checklist.pdf')).body as MediaUploaded;
    const received = await tablet(terminalA);
    const drafted = await request(apps.command.url)
      .post('/v1/communications')
      .set(editor())
      .send({
        kind: 'notice',
        title: 'Checklist before the projector',
        body: 'See the attached checklist',
        audience: { storeIds: [storeA] },
        attachments: [{ mediaId: pdf.mediaId }],
      });
    expect(drafted.status).toBe(201);
    const id = drafted.body.id as string;
    // The draft is in the read models (its media among them) before the projector stops.
    await eventually(async () =>
      expect((await request(apps.gateway.url).get(`/v1/communications/${id}`).set(editor())).status).toBe(200),
    );
    const open = (token: string) => request(apps.gateway.url).get(`/v1/media/${pdf.mediaId}`).set(bearer(token));
    await apps.projector.stop();
    try {
      // The tablet gets the item on commit; Redis has not got the store's targeting.
      await api.send('post', `/v1/communications/${id}/publish`);
      await eventually(() => expect(itemsOf(received, id)).toHaveLength(1));
      const behind = await open(terminalA);
      expect({ status: behind.status, retryAfter: behind.headers['retry-after'] }).toEqual({
        status: 503,
        retryAfter: '1',
      });
      expect(behind.body.message).toMatch(/not caught up/);
      // Nothing is outstanding for another store: its answer is the plain 404.
      expect((await open(terminalB)).status).toBe(404);
    } finally {
      apps.projector = await startApp('projector', ns.env);
    }
    await eventually(async () => expect((await open(terminalA)).status).toBe(200));
    expect((await open(terminalB)).status).toBe(404);
  });

  it('shows media of a role-restricted communication only to terminals serving the role', async () => {
    const secret = (await upload(api.token('hq-editor'), await testPhoto(640, 480), 'till.jpg')).body as MediaUploaded;
    const cashier = await api.terminal(storeA, ['cashier']);
    const received = await tablet(cashier.token);
    const id = await api.publish({
      title: 'Till procedure',
      audience: { storeIds: [storeA], roles: ['cashier'] },
      attachments: [{ mediaId: secret.mediaId }],
    });
    await eventually(() => expect(itemsOf(received, id)).toHaveLength(1));
    await eventually(async () =>
      expect(
        (await request(apps.gateway.url).get(`/v1/media/${secret.mediaId}`).set(bearer(cashier.token))).status,
      ).toBe(200),
    );
    expect((await request(apps.gateway.url).get(`/v1/media/${secret.mediaId}`).set(bearer(terminalA))).status).toBe(
      404,
    );
  });

  it('refuses unknown media, a store’s media, a PDF cover and too many attachments, writing nothing', async () => {
    const pdf = (await upload(api.token('hq-editor'), guide, 'g.pdf')).body as MediaUploaded;
    const storePhoto = (await upload(terminalA, await testPhoto(300, 200), 's.jpg')).body as MediaUploaded;
    const draft = { kind: 'notice', title: 'N', body: 'B', audience: { storeIds: [storeA] } };
    const before = await writeSnapshot(ns);
    const cases: Array<[object, string[]]> = [
      [{ attachments: [{ mediaId: '00000000-0000-4000-8000-000000000000' }] }, ['attachments.0.mediaId']],
      [{ attachments: [{ mediaId: pdf.mediaId }, { mediaId: storePhoto.mediaId }] }, ['attachments.1.mediaId']],
      [{ cover: { mediaId: pdf.mediaId } }, ['cover']],
      [{ attachments: Array.from({ length: 11 }, () => ({ mediaId: pdf.mediaId })) }, ['attachments']],
      [{ attachments: [{ mediaId: pdf.mediaId, name: '' }] }, ['attachments.0.name']],
      [{ cover: { mediaId: pdf.mediaId, url: 'x' } }, ['cover.url']],
    ];
    for (const [extra, fields] of cases) {
      const response = await request(apps.command.url)
        .post('/v1/communications')
        .set(editor())
        .send({ ...draft, ...extra });
      expect({ extra, status: response.status }).toEqual({ extra, status: 400 });
      expect({ extra, fields: Object.keys(response.body.fields ?? {}) }).toEqual({ extra, fields });
    }
    await expectNothingWritten(ns, before);
  });
});

describe('head office sends evidence back', () => {
  const clients: TerminalClient[] = [];
  afterAll(() => clients.forEach((c) => c.close()));

  it('reopens the task for that store only; the retake is a new completion; the board follows', async () => {
    const client = new TerminalClient({ url: apps.gateway.url, token: terminalA, cursors: new MemoryCursorStore() });
    clients.push(client);
    const received: FeedMessage[] = [];
    client.onItem((item) => received.push(item));
    await client.connect();
    const task = await api.publish({
      kind: 'task',
      title: 'Price labels in aisle 3',
      body: 'Put up the new labels and take a photo.',
      evidence: 'photo',
      dueAt: new Date(Date.now() + 86_400_000).toISOString(),
      audience: { storeIds: [storeA, storeB] },
    });
    const entriesOf = () => received.filter((m): m is FeedItem => 'communication' in m && m.communication.id === task);
    await eventually(() => expect(entriesOf()).toHaveLength(1));
    const blurry = (await upload(terminalA, await testPhoto(640, 480), 'blurry.jpg')).body as MediaUploaded;
    expect(
      await client.send('task.complete', { communicationId: task, revision: 1, photoMediaId: blurry.mediaId }),
    ).toEqual({
      ok: true,
    });
    const hq = bearer(api.token('hq-editor'));
    const boardTask = async () => {
      const response = await request(apps.gateway.url).get('/v1/compliance').set(hq);
      return (response.body.items as StoreCompliance[])
        .find((s) => s.storeId === storeA)!
        .tasks.find((t) => t.communicationId === task)!;
    };
    await eventually(async () => expect((await boardTask()).completed).toBe(true));

    // Refusals first: nothing is written for them.
    const reject = (id: string, storeId: string, body: object, role: 'hq-editor' | 'agency' = 'hq-editor') =>
      request(apps.command.url)
        .post(`/v1/communications/${id}/evidence/${storeId}/reject`)
        .set(bearer(api.token(role)))
        .send(body);
    const notice = await api.publish({ title: 'Not a task', audience: { storeIds: [storeA] } });
    await eventually(() =>
      expect(received.some((m) => 'communication' in m && m.communication.id === notice)).toBe(true),
    );
    // The notice's read-model keys land when the projector gets to it, maybe after the tablet has it.
    await settled(ns, apps.projector);
    const before = await writeSnapshot(ns);
    expect((await reject(task, storeA, { reason: '' })).body.fields).toHaveProperty('reason');
    expect((await reject(task, storeA, { reason: 'x', storeId: storeB })).status).toBe(400);
    expect((await reject(task, storeA, { reason: 'Blurry' }, 'agency')).status).toBe(403);
    expect((await reject(task, '00000000-0000-4000-8000-000000000000', { reason: 'Blurry' })).status).toBe(404);
    expect((await reject(notice, storeA, { reason: 'Blurry' })).status).toBe(422);
    await expectNothingWritten(ns, before);

    const rejected = await reject(task, storeA, { reason: 'The labels are not readable' });
    expect(rejected.status).toBe(200);
    // The store's tablet gets the same revision again, with the reason.
    const reopened = await eventually(() => {
      const entry = entriesOf().find((m) => m.evidenceRejected);
      expect(entry).toBeDefined();
      return entry!;
    });
    expect(reopened).toMatchObject({
      change: 'revised',
      communication: { revision: 1 },
      evidenceRejected: { reason: 'The labels are not readable', rejection: 1 },
    });
    // Only store A's feed moved: store B's holds the publish alone.
    const feedB = await request(apps.gateway.url).get(`/v1/stores/${storeB}/feed`).set(hq);
    expect((feedB.body.items as FeedItem[]).filter((i) => i.communication.id === task)).toHaveLength(1);
    const events = await readTopic<DomainEvent<'task.evidence-rejected'>>(ns.env.KAFKA_BROKERS!, topics.events);
    expect(events.filter((e) => e.value.type === 'task.evidence-rejected').map((e) => e.value.data)).toEqual([
      { storeId: storeA, reason: 'The labels are not readable', rejection: 1 },
    ]);
    await eventually(async () =>
      expect(await boardTask()).toMatchObject({
        completed: false,
        evidence: {
          photo: { mediaId: blurry.mediaId },
          rejected: { reason: 'The labels are not readable', rejection: 1 },
        },
      }),
    );

    // The retake: a new fact (not a duplicate of the first), with the rejection's number.
    const sharp2 = (await upload(terminalA, await testPhoto(1200, 900), 'sharp.jpg')).body as MediaUploaded;
    expect(
      await client.send('task.complete', {
        communicationId: task,
        revision: 1,
        photoMediaId: sharp2.mediaId,
        attempt: 1,
      }),
    ).toEqual({ ok: true });
    expect(await client.send('task.complete', { communicationId: task, revision: 1, attempt: 1 })).toEqual({
      ok: true,
      duplicate: true,
    });
    await eventually(async () => {
      const shown = await boardTask();
      expect(shown.completed).toBe(true);
      expect(shown.evidence).toMatchObject({ attempt: 1, photo: { mediaId: sharp2.mediaId } });
      expect(shown.evidence).not.toHaveProperty('rejected');
    });
    const evidence = await request(apps.gateway.url).get(`/v1/communications/${task}/evidence`).set(hq);
    expect(evidence.body.items).toEqual([expect.objectContaining({ storeId: storeA, attempt: 1 })]);
  });
});
