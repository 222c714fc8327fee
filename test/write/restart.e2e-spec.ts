import request from 'supertest';
import { topicNames, type EventEnvelope } from '@lastmeter/contracts';
import { startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { eventually } from '../support/eventually';
import { testNamespace } from '../support/env';
import { readTopic } from '../support/log-reader';
import { bearer, tokenFor, WriteApi } from '../support/write-api';

/** Nothing accepted is lost and nothing is appended twice when the command service dies. */
const ns = testNamespace('restart');
const topics = topicNames(ns.topicPrefix);
let app: RunningApp | undefined;

afterAll(async () => {
  await app?.stop();
  await cleanupNamespace(ns);
});

async function events(): Promise<EventEnvelope[]> {
  return (await readTopic(ns.env.KAFKA_BROKERS!, topics.events)).map((m) => m.value);
}

it('SIGKILL with 200 commands in flight: every 2xx is appended once, every error not at all, retries complete the rest', async () => {
  app = await startApp('command', ns.env);
  const editor = tokenFor(ns, 'hq-editor');
  const url = app.url;
  let answeredSoFar = 0;
  const send = (i: number) =>
    request(url)
      .post('/v1/communications')
      .set({ ...bearer(editor), 'Idempotency-Key': `inflight-${i}` })
      .send({ kind: 'notice', title: `Notice ${i}`, body: 'Body', audience: { all: true } })
      .then(
        (response) => {
          answeredSoFar++;
          return { i, status: response.status, id: response.body?.id as string | undefined };
        },
        () => ({ i, status: 0, id: undefined }), // connection dropped: no answer
      );

  // 200 commands through 20 concurrent clients: when the process dies, 20 are in flight
  // and the rest never get an answer (connection refused), as in a real crash.
  const results: Array<{ i: number; status: number; id: string | undefined }> = [];
  let next = 0;
  const clients = Array.from({ length: 20 }, async () => {
    for (let i = next++; i < 200; i = next++) results[i] = await send(i);
  });
  await eventually(() => expect(answeredSoFar).toBeGreaterThanOrEqual(40), { timeoutMs: 30_000, intervalMs: 5 });
  await app.kill('SIGKILL');
  await Promise.all(clients);
  const answered = results.filter((r) => r.status >= 200 && r.status < 300);
  const refused = results.filter((r) => r.status >= 400);
  expect(answered.length).toBeGreaterThanOrEqual(40);
  expect(answered.length).toBeLessThan(200);

  app = await startApp('command', ns.env);
  // Commands accepted into the log before the kill are decided after the restart; retrying
  // every request with its key returns the one outcome, appending nothing new for done ones.
  // Until the restarted decider owns the partitions (the dead member's session must
  // expire first) the answer is 202 "pending"; clients retry with the same key.
  const retried = await Promise.all(
    results.map(({ i }) =>
      eventually(
        async () => {
          const response = await request(app!.url)
            .post('/v1/communications')
            .set({ ...bearer(editor), 'Idempotency-Key': `inflight-${i}` })
            .send({ kind: 'notice', title: `Notice ${i}`, body: 'Body', audience: { all: true } });
          expect(response.status).toBe(201);
          return { i, status: response.status, id: response.body.id as string };
        },
        { timeoutMs: 60_000, what: `command ${i}` },
      ),
    ),
  );
  expect(retried.every((r) => r.status === 201)).toBe(true);
  for (const first of answered) expect(retried[first.i].id).toBe(first.id);

  const drafted = (await events()).filter((e) => e.type === 'communication.drafted');
  const perAggregate = new Map<string, number>();
  for (const event of drafted) perAggregate.set(event.aggregateId, (perAggregate.get(event.aggregateId) ?? 0) + 1);
  expect(drafted).toHaveLength(200);
  expect([...perAggregate.values()].every((count) => count === 1)).toBe(true);
  for (const r of refused) expect(perAggregate.has(retried[r.i].id)).toBe(false);
});

it('a scheduled publish happens once even when the command service is down at publish time', async () => {
  if (!app || app.process.exitCode !== null || app.process.signalCode !== null) app = await startApp('command', ns.env);
  const api = new WriteApi(app.url, ns);
  const { id } = await eventually(() => api.draft({ title: 'Opening hours change' }), { timeoutMs: 60_000 });
  const publishAt = new Date(Date.now() + 4_000).toISOString();
  const scheduled = await request(app.url)
    .post(`/v1/communications/${id}/publish`)
    .set(bearer(tokenFor(ns, 'hq-editor')))
    .send({ publishAt });
  expect(scheduled.status).toBe(200);
  await app.kill('SIGKILL');
  app = undefined;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(publishAt) - Date.now()) + 1_500));

  app = await startApp('command', ns.env);
  const published = await eventually(
    async () => {
      const mine = (await events()).filter((e) => e.aggregateId === id);
      expect(mine.map((e) => e.type)).toContain('communication.published');
      return mine;
    },
    { timeoutMs: 30_000, what: 'the scheduled publish' },
  );
  expect(published.map((e) => e.type)).toEqual([
    'communication.drafted',
    'communication.approved',
    'communication.scheduled',
    'communication.published',
  ]);
  expect(Date.parse(published[3].occurredAt)).toBeGreaterThanOrEqual(Date.parse(publishAt));
  // Give the scheduler a few more ticks: it must not publish again.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  expect((await events()).filter((e) => e.aggregateId === id)).toHaveLength(4);
});
