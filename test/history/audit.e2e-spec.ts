import request from 'supertest';
import { parse } from 'csv-parse/sync';
import { isRetryable, READ_MODELS_UNAVAILABLE, topicNames, type Ack, type DomainEvent } from '@lastmeter/contracts';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApp, startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { readTopic } from '../support/log-reader';
import { settled } from '../support/read-side';
import { bearer, Publisher, bytes } from '../support/write-api';

/** Audit CSVs against the receipts the test's terminals sent, row by row. */
const ns = testNamespace('audit');
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

async function terminal(storeId: string) {
  const device = await api.terminal(storeId);
  const client = new TerminalClient({ url: apps.gateway.url, token: device.token, cursors: new MemoryCursorStore() });
  clients.push(client);
  const seen: string[] = [];
  client.onItem(
    (item) => 'communication' in item && seen.push(`${item.communication.id}@${item.communication.revision}`),
  );
  await client.connect();
  return { client, seen, terminalId: device.terminalId };
}

it('lists every targeted store and terminal with what each reported, quoted and in UTF-8', async () => {
  const region = await api.region('audit');
  const [a1, a2, a3] = [await api.store('A1', region), await api.store('A2', region), await api.store('A3', region)];
  const other = await api.store('ZZ', await api.region('elsewhere'));
  const [t1, t2, t3] = [await terminal(a1), await terminal(a1), await terminal(a2)];
  const title = 'Réassort café: "grains", moulu, dosettes';
  const training = await api.publish({
    kind: 'training',
    title,
    audience: { regionIds: [region] },
    questions: [
      { prompt: 'Température ?', options: ['88', '93'], answer: 1 },
      { prompt: 'Dose ?', options: ['7 g', '14 g'], answer: 0 },
    ],
  });
  await eventually(() => expect(t1.seen).toContain(`${training}@1`));
  await eventually(() => expect(t3.seen).toContain(`${training}@1`));
  const ok = { ok: true };
  expect(await t1.client.receipt({ communicationId: training, kind: 'delivered', revision: 1 })).toEqual(ok);
  expect(await t1.client.receipt({ communicationId: training, kind: 'read', revision: 1 })).toEqual(ok);
  expect(await t2.client.receipt({ communicationId: training, kind: 'delivered', revision: 1 })).toEqual(ok);
  expect(await t3.client.receipt({ communicationId: training, kind: 'delivered', revision: 1 })).toEqual(ok);
  expect(await t3.client.send('quiz.answer', { communicationId: training, revision: 1, answers: [1, 1] })).toEqual(ok);
  expect(await t1.client.send('report.file', { title: 'Moulin en panne', body: 'Le moulin 2 ne tourne plus' })).toEqual(
    ok,
  );
  await api.revise(training, { body: 'Nouvelle recette' });
  await eventually(() => expect(t1.seen).toContain(`${training}@2`));
  expect(await t1.client.receipt({ communicationId: training, kind: 'acknowledged', revision: 2 })).toEqual(ok);
  await settled(ns, apps.projector);

  const facts = (await readTopic<DomainEvent>(ns.env.KAFKA_BROKERS!, topics.storeEvents)).map(({ value }) => value);
  const at = (type: string, terminalId: string) =>
    facts.find((f) => f.type === type && (f.data as { terminalId?: string }).terminalId === terminalId)?.occurredAt ??
    '';

  const response = await request(apps.gateway.url)
    .get(`/v1/audit/communications/${training}.csv`)
    .set(bearer(api.token('analyst')))
    .buffer(true)
    .parse(bytes);
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
  const text = (response.body as Buffer).toString('utf8');
  expect(text.startsWith('\uFEFF')).toBe(true);
  expect(text).toContain('"Réassort café: ""grains"", moulu, dosettes"');
  const rows = parse(text, { columns: true, bom: true }) as Array<Record<string, string>>;
  const pick = (r: Record<string, string>) => [
    r.storeId,
    r.terminalId,
    r.targeted,
    r.revisionSeen,
    r.deliveredAt,
    r.readAt,
    r.acknowledgedAt,
    r.quizScore,
    r.reportCount,
  ];
  const expected = [
    ...[t1.terminalId, t2.terminalId]
      .sort()
      .map((terminalId) =>
        terminalId === t1.terminalId
          ? [
              a1,
              terminalId,
              'yes',
              '2',
              at('receipt.delivered', terminalId),
              at('receipt.read', terminalId),
              at('receipt.acknowledged', terminalId),
              '',
              '1',
            ]
          : [a1, terminalId, 'yes', '1', at('receipt.delivered', terminalId), '', '', '', '0'],
      ),
    [a2, t3.terminalId, 'yes', '1', at('receipt.delivered', t3.terminalId), '', '', '0.5', '0'],
    [a3, '', 'yes', '', '', '', '', '', '0'],
  ];
  expect(rows.map(pick)).toEqual(expected);
  expect(rows.every((r) => r.title === title && r.currentRevision === '2')).toBe(true);
  expect(rows.map((r) => r.storeId)).not.toContain(other);

  // The store audit over a range holds the same rows for that store.
  const byStore = await request(apps.gateway.url)
    .get(`/v1/audit/stores/${a1}.csv`)
    .query({ from: new Date(Date.now() - 3_600_000).toISOString() })
    .set(bearer(api.token('hq-editor')));
  expect(byStore.status).toBe(200);
  const storeRows = parse(byStore.text, { columns: true, bom: true }) as Array<Record<string, string>>;
  expect(storeRows.filter((r) => r.communicationId === training).map(pick)).toEqual(expected.slice(0, 2));
  const future = await request(apps.gateway.url)
    .get(`/v1/audit/stores/${a1}.csv`)
    .query({ from: new Date(Date.now() + 3_600_000).toISOString() })
    .set(bearer(api.token('analyst')));
  expect(parse(future.text, { columns: true, bom: true })).toEqual([]);

  expect(
    (
      await request(apps.gateway.url)
        .get(`/v1/audit/communications/${training}.csv`)
        .set(bearer(api.token('store-manager', { storeId: a1 })))
    ).status,
  ).toBe(403);
  expect(
    (
      await request(apps.gateway.url)
        .get(`/v1/audit/communications/${training}.txt`)
        .set(bearer(api.token('analyst')))
    ).status,
  ).toBe(404);
});

it('scores a quiz answered right after its publish by its questions, retryable until a projector has them', async () => {
  const store = await api.store('Q1', await api.region('quiz'));
  const t = await terminal(store);
  // What the new store got so far projected first (a projector lets entries that the
  // notice on commit carried wait PROJECTOR_LINGER_MS; stopped meanwhile, a gap).
  await settled(ns, apps.projector);
  // No projector: the tablet has the quiz from the command service's notice on commit,
  // the read models have neither it nor its questions to score the answer by.
  await apps.projector.stop();
  const quiz = { communicationId: '', revision: 1, answers: [1, 1] };
  try {
    quiz.communicationId = await api.publish({
      kind: 'training',
      title: 'Quiz while the projector is away',
      audience: { storeIds: [store] },
      questions: [
        { prompt: 'Two plus two?', options: ['3', '4'], answer: 1 },
        { prompt: 'Capital of France?', options: ['Paris', 'Lyon'], answer: 0 },
      ],
    });
    await eventually(() => expect(t.seen).toContain(`${quiz.communicationId}@1`));
    // Not "has no questions": try again later.
    const ack = (await t.client.socket.timeout(10_000).emitWithAck('quiz.answer', quiz)) as Ack;
    expect(ack).toEqual({ ok: false, error: { message: READ_MODELS_UNAVAILABLE } });
    expect(isRetryable(ack.error)).toBe(true);
  } finally {
    apps.projector = await startApp('projector', ns.env);
  }
  expect(await t.client.send('quiz.answer', quiz)).toEqual({ ok: true });
  await eventually(async () => {
    const facts = (await readTopic<DomainEvent>(ns.env.KAFKA_BROKERS!, topics.storeEvents)).map(({ value }) => value);
    const answered = facts.filter(
      (e) =>
        e.type === 'quiz.answered' && (e.data as { communicationId: string }).communicationId === quiz.communicationId,
    );
    expect(answered.map((e) => (e.data as { score: number }).score)).toEqual([0.5]);
  });
});
