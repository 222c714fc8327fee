import { JwtService } from '@nestjs/jwt';
import request from 'supertest';
import { SCREEN_READ_ONLY, topicNames, type FeedMessage, type StorePresence } from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { endOffsets } from '../support/log-reader';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 22, item 5: a break-room screen is a terminal of kind `screen`, enrolled like a
 * tablet. Its device token has the role `screen`: it connects to `/terminal`, gets the
 * store's feed and shows in presence, and every client → server event is refused.
 */
const ns = testNamespace('screen');
const topics = topicNames(ns.topicPrefix);
let apps: Record<AppName, RunningApp>;
let api: Publisher;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  apps = await startApps(ns.env);
  api = new Publisher(apps.command.url, ns);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await stopApps(apps);
  await cleanupNamespace(ns);
});

it('enrolls a screen, which reads the feed, shows in presence and may send nothing', async () => {
  const store = await api.store('SCR1', await api.region('screens'));
  const admin = bearer(api.token('hq-admin'));
  await request(apps.command.url)
    .post('/v1/terminals')
    .set(admin)
    .send({ storeId: store, name: 'TV', kind: 'tv' })
    .expect(400)
    .expect((response) => expect(response.body.fields.kind).toBeDefined());
  const registered = await request(apps.command.url)
    .post('/v1/terminals')
    .set(admin)
    .send({ storeId: store, name: 'Break room', kind: 'screen' })
    .expect(201);
  const enrolled = await request(apps.command.url)
    .post('/v1/terminals/enroll')
    .send({ code: registered.body.enrollmentCode })
    .expect(201);
  const { token, terminalId } = enrolled.body as { token: string; terminalId: string };
  expect(new JwtService().decode(token)).toMatchObject({ role: 'screen', storeId: store, sub: terminalId });
  await eventually(async () => {
    const page = await request(apps.gateway.url).get(`/v1/terminals?storeId=${store}`).set(admin).expect(200);
    expect(page.body.items).toEqual([expect.objectContaining({ id: terminalId, kind: 'screen', status: 'enrolled' })]);
  });

  const screen = new TerminalClient({ url: apps.gateway.url, token, cursors: new MemoryCursorStore() });
  clients.push(screen);
  const seen: FeedMessage[] = [];
  screen.onItem((message) => seen.push(message));
  await screen.connect();
  const id = await api.publish({ title: 'Team meeting at 3', audience: { storeIds: [store] } });
  await eventually(() => expect(seen.some((m) => 'communication' in m && m.communication.id === id)).toBe(true));
  await eventually(async () => {
    const presence = await request(apps.gateway.url).get(`/v1/presence?storeId=${store}`).set(admin).expect(200);
    const online = (presence.body.items as StorePresence[])[0]?.online ?? [];
    expect(online.map((t) => t.terminalId)).toEqual([terminalId]);
  });
  // Its own store's read API answers it (the screen shows the store's name and hours).
  await request(apps.gateway.url).get(`/v1/stores/${store}`).set(bearer(token)).expect(200);

  // Nothing a tablet sends is accepted from a screen, and nothing is written.
  const before = await endOffsets(ns.env.KAFKA_BROKERS!, topics.storeEvents);
  const refused = { ok: false, error: { message: SCREEN_READ_ONLY } };
  const emit = (event: string, body: unknown) => screen.socket.timeout(5_000).emitWithAck(event, body);
  expect(await emit('receipt', { communicationId: id, kind: 'read', revision: 1 })).toEqual(refused);
  expect(await emit('receipts', { items: [{ communicationId: id, kind: 'delivered', revision: 1 }] })).toEqual(refused);
  expect(await emit('task.complete', { communicationId: id, revision: 1 })).toEqual(refused);
  expect(await emit('quiz.answer', { communicationId: id, revision: 1, answers: [0] })).toEqual(refused);
  expect(await emit('report.file', { title: 'x', body: 'y' })).toEqual(refused);
  expect(await emit('feed.earlier', { before: 10 })).toEqual(refused);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(await endOffsets(ns.env.KAFKA_BROKERS!, topics.storeEvents)).toEqual(before);
  // Once the communication is projected (the screen had it on commit), no read counted.
  const reach = await eventually(() =>
    request(apps.gateway.url).get(`/v1/communications/${id}/reach`).set(admin).expect(200),
  );
  expect(reach.body.read.terminals).toBe(0);
  // And the write API refuses its token like any device token's.
  await request(apps.command.url)
    .post('/v1/regions')
    .set(bearer(token))
    .send({ code: 'nope', name: 'nope' })
    .expect(403);
});
