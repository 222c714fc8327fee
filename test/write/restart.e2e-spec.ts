/**
 * @exclusive It kills the apps (SIGKILL) and waits for them to recover. (test/setup/e2e-environment.ts)
 */
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

/**
 * What became of one request before the kill, from the client's side:
 * - `created`: 2xx, decided and appended;
 * - `pending`: 202, in the commands log, decided later;
 * - `refused`: an HTTP error answer (a 409 for a stale If-Match, a 503 "nothing was recorded");
 * - `not-delivered`: ECONNREFUSED, no process ever read the request;
 * - `unanswered`: the connection died with the request in flight (outcome unknown).
 */
type Outcome = 'created' | 'pending' | 'refused' | 'not-delivered' | 'unanswered';

interface Attempt {
  i: number;
  status: number;
  code?: string;
  id?: string;
}

function outcomeOf({ status, code }: Attempt): Outcome {
  if (status === 202) return 'pending';
  if (status >= 200 && status < 300) return 'created';
  if (status >= 400) return 'refused';
  return code === 'ECONNREFUSED' ? 'not-delivered' : 'unanswered';
}

it('SIGKILL with 200 commands in flight: every 2xx is appended once, every refused command not at all, retries complete the rest', async () => {
  app = await startApp('command', ns.env);
  const editor = tokenFor(ns, 'hq-editor');
  // Every 10th request revises this communication with a stale If-Match: the decider
  // refuses it (409) whenever it decides it, before or after the restart.
  const target = await eventually(
    async () => {
      const response = await request(app!.url)
        .post('/v1/communications')
        .set({ ...bearer(editor), 'Idempotency-Key': 'stale-target' })
        .send({ kind: 'notice', title: 'Target', body: 'Body', audience: { all: true } });
      expect(response.status).toBe(201);
      return response.body.id as string;
    },
    { timeoutMs: 60_000, what: 'the target draft' },
  );
  const isRevision = (i: number) => i % 10 === 9;
  const attempt = (url: string, i: number): Promise<Attempt> => {
    const headers = { ...bearer(editor), 'Idempotency-Key': `inflight-${i}` };
    const sent = isRevision(i)
      ? request(url)
          .patch(`/v1/communications/${target}`)
          .set({ ...headers, 'If-Match': '99' })
          .send({ title: `Stale ${i}` })
      : request(url)
          .post('/v1/communications')
          .set(headers)
          .send({ kind: 'notice', title: `Notice ${i}`, body: 'Body', audience: { all: true } });
    return sent.then(
      (response) => ({ i, status: response.status, id: response.body?.id as string | undefined }),
      // No answer. supertest reports a failed connect as "ECONNREFUSED: ..." without a code.
      (error: Error & { code?: string }) => ({
        i,
        status: 0,
        code: error.code ?? /^(E[A-Z]+):/.exec(error.message)?.[1],
      }),
    );
  };
  let answeredSoFar = 0;

  // 200 commands through 20 concurrent clients: when the process dies, 20 are in flight
  // and the rest never get an answer (connection refused), as in a real crash.
  const first: Attempt[] = [];
  let next = 0;
  const clients = Array.from({ length: 20 }, async () => {
    for (let i = next++; i < 200; i = next++) {
      first[i] = await attempt(app!.url, i);
      if (first[i].status !== 0) answeredSoFar++;
    }
  });
  await eventually(() => expect(answeredSoFar).toBeGreaterThanOrEqual(40), { timeoutMs: 30_000, intervalMs: 5 });
  await app.kill('SIGKILL');
  await Promise.all(clients);
  const outcomes = first.map(outcomeOf);
  const answered = first.filter((r) => r.status !== 0);
  expect(answered.length).toBeGreaterThanOrEqual(40);
  expect(answered.length).toBeLessThan(200);
  // A stale revision is never accepted, only refused or left pending.
  for (const r of answered.filter(({ i }) => isRevision(i)))
    expect([r.i, r.status]).toEqual([r.i, r.status === 202 ? 202 : 409]);

  // Which requests are sent again after the restart. Refused ones never are (a refusal is
  // final); of the ones that never reached the process, only the even ones are: the odd
  // ones are commands whose only attempt was refused at the door.
  const retry = (i: number) =>
    outcomes[i] === 'created' ||
    outcomes[i] === 'pending' ||
    outcomes[i] === 'unanswered' ||
    (outcomes[i] === 'not-delivered' && i % 2 === 0);
  const onlyRefused = first.filter(({ i }) => !retry(i)).map(({ i }) => i);
  expect(onlyRefused.filter((i) => outcomes[i] === 'not-delivered').length).toBeGreaterThan(0);

  app = await startApp('command', ns.env);
  // Commands accepted into the log before the kill are decided after the restart; retrying
  // with the same key returns the one outcome, appending nothing new for done ones.
  // Until the restarted decider owns the partitions (the dead member's session must
  // expire first) the answer is 202 "pending"; clients retry with the same key.
  const retried = new Map<number, Attempt>(
    await Promise.all(
      first
        .filter(({ i }) => retry(i))
        .map(({ i }) =>
          eventually(
            async () => {
              const response = await attempt(app!.url, i);
              expect(response.status).toBe(isRevision(i) ? 409 : 201);
              return [i, response] as const;
            },
            { timeoutMs: 60_000, what: `command ${i}` },
          ),
        ),
    ),
  );
  // A 2xx before the kill is the same outcome after it: same aggregate.
  for (const r of first.filter(({ i }) => outcomes[i] === 'created')) expect(retried.get(r.i)?.id).toBe(r.id);
  // Every answer a stale revision ever got, before or after the kill, is a refusal.
  const revisionAnswers = [...first, ...retried.values()].filter((r) => isRevision(r.i) && r.status !== 0);
  expect(revisionAnswers.length).toBeGreaterThan(0);
  expect(revisionAnswers.map((r) => [r.i, r.status])).toEqual(revisionAnswers.map((r) => [r.i, 409]));
  // The drafts that end created: all that were retried (each ended in a 201).
  const created = first
    .filter(({ i }) => !isRevision(i) && retry(i))
    .map(({ i }) => ({ i, id: (retried.get(i) ?? first[i]).id }));

  // The log: for the keys of this test, one event per created draft, on the aggregate the
  // client was given, and nothing for any other key (stale revisions, refused requests).
  const log = await events();
  const keyOf = (event: EventEnvelope) => /:inflight-(\d+)$/.exec(event.commandId)?.[1];
  const logged = log
    .filter((event) => keyOf(event) !== undefined)
    .map((event) => ({ i: Number(keyOf(event)), type: event.type, id: event.aggregateId }))
    .sort((a, b) => a.i - b.i);
  expect(logged).toEqual(created.map(({ i, id }) => ({ i, type: 'communication.drafted', id })));
  // The same by content: each created draft's title once, no refused command's title at all.
  const titles = log.flatMap((event) =>
    event.type === 'communication.drafted' ? [(event.data as { title: string }).title] : [],
  );
  for (const { i } of created) expect(titles.filter((title) => title === `Notice ${i}`)).toHaveLength(1);
  for (const i of onlyRefused) expect(titles).not.toContain(`Notice ${i}`);
  // The 20 stale revisions appended nothing: the target is still only drafted.
  expect(log.filter((event) => event.aggregateId === target).map((event) => event.type)).toEqual([
    'communication.drafted',
  ]);
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
