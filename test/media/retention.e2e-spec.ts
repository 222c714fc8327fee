import { existsSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { MediaUploaded } from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { bearer, Publisher } from '../support/write-api';
import { testPhoto } from '../../libs/media/src/test-photo';

/**
 * Issue 19, retention: the media sweep deletes uploads nothing used after the grace, and
 * media of retracted communications (and their tasks' evidence) after the retention
 * (0 days here), and keeps media of live communications and of field reports.
 */
const ns = testNamespace('media-retention', {
  MEDIA_RETENTION_DAYS: '0',
  MEDIA_UNREFERENCED_GRACE_S: '2',
  MEDIA_SWEEP_EVERY_S: '0',
});
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n');
let apps: Record<AppName, RunningApp>;
let api: Publisher;
let client: TerminalClient;

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
});
afterAll(async () => {
  client?.close();
  await stopApps(apps);
  await cleanupNamespace(ns).catch(() => undefined);
});

const upload = async (token: string, bytes: Buffer, name: string) => {
  const response = await request(apps.gateway.url).post('/v1/media').set(bearer(token)).attach('file', bytes, name);
  expect(response.status).toBe(201);
  return response.body as MediaUploaded;
};
const status = async (mediaId: string) =>
  (
    await request(apps.gateway.url)
      .get(`/v1/media/${mediaId}/info`)
      .set(bearer(api.token('hq-admin')))
  ).status;
const blobOf = (media: MediaUploaded) => join(ns.env.MEDIA_DIR!, 'blobs', media.sha256.slice(0, 2), media.sha256);

it('deletes what nothing needs any more and keeps the rest', async () => {
  const region = await api.region('r');
  const store = await api.store('RET1', region);
  const terminal = await api.terminal(store);
  client = new TerminalClient({ url: apps.gateway.url, token: terminal.token, cursors: new MemoryCursorStore() });
  const seen = new Set<string>();
  client.onItem((item) => 'communication' in item && seen.add(item.communication.id));
  await client.connect();
  const editor = api.token('hq-editor');

  const retractedPdf = await upload(editor, PDF, 'old-campaign.pdf');
  const livePdf = await upload(editor, Buffer.concat([PDF, Buffer.from('% live\n%%EOF\n')]), 'live.pdf');
  const orphan = await upload(editor, await testPhoto(300, 200), 'never-used.jpg');
  const reportPhoto = await upload(terminal.token, await testPhoto(320, 200), 'leak.jpg');
  const evidence = await upload(terminal.token, await testPhoto(340, 200), 'endcap.jpg');

  const old = await api.publish({
    title: 'Old',
    audience: { storeIds: [store] },
    attachments: [{ mediaId: retractedPdf.mediaId }],
  });
  await api.publish({ title: 'Live', audience: { storeIds: [store] }, attachments: [{ mediaId: livePdf.mediaId }] });
  const task = await api.publish({
    kind: 'task',
    title: 'Endcap',
    body: 'Photo please',
    evidence: 'photo',
    dueAt: new Date(Date.now() + 86_400_000).toISOString(),
    audience: { storeIds: [store] },
  });
  await eventually(() => expect(seen.has(task)).toBe(true));
  expect(
    await client.send('task.complete', { communicationId: task, revision: 1, photoMediaId: evidence.mediaId }),
  ).toEqual({ ok: true });
  expect(
    await client.send('report.file', {
      title: 'Leak',
      body: 'Aisle 2',
      attachments: [{ mediaId: reportPhoto.mediaId }],
    }),
  ).toEqual({ ok: true });
  await api.retract(old);
  await api.retract(task);
  // Once the read side has all of it, and the orphan is past its grace.
  await eventually(
    async () => {
      // Both retractions (each communication's partition is projected on its own).
      for (const id of [old, task]) {
        const comm = await request(apps.gateway.url).get(`/v1/communications/${id}`).set(bearer(editor));
        expect(comm.body.status).toBe('retracted');
      }
      const reports = await request(apps.gateway.url).get('/v1/reports').set(bearer(editor));
      expect(reports.body.items).toHaveLength(1);
    },
    { what: 'the retractions and the report projected' },
  );
  await new Promise((resolve) => setTimeout(resolve, 2_500));

  expect(
    (
      await request(apps.gateway.url)
        .post('/v1/media/sweep')
        .set(bearer(api.token('analyst')))
    ).status,
  ).toBe(403);
  const dry = await request(apps.gateway.url)
    .post('/v1/media/sweep?dryRun=true')
    .set(bearer(api.token('hq-admin')));
  expect(dry.status).toBe(200);
  expect(dry.body).toMatchObject({ records: 5, kept: 2, deleted: { unreferenced: 1, retention: 2 }, dryRun: true });
  expect(await status(orphan.mediaId)).toBe(200);

  const swept = await request(apps.gateway.url)
    .post('/v1/media/sweep')
    .set(bearer(api.token('hq-admin')));
  expect(swept.body).toMatchObject({ records: 5, kept: 2, deleted: { unreferenced: 1, retention: 2 }, dryRun: false });
  for (const gone of [orphan, retractedPdf, evidence]) {
    expect(await status(gone.mediaId)).toBe(404);
    expect(existsSync(blobOf(gone))).toBe(false);
  }
  for (const kept of [livePdf, reportPhoto]) {
    expect(await status(kept.mediaId)).toBe(200);
    expect(existsSync(blobOf(kept))).toBe(true);
  }
});
