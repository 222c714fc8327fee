import request from 'supertest';
import {
  isRetryable,
  READ_MODELS_UNAVAILABLE,
  topicNames,
  type Ack,
  type EventEnvelope,
  type FeedItem,
  type FeedMessage,
  type StaffSession,
  type SurveyResults,
} from '@lastmeter/contracts';
import { createKafkaClient, readWholeTopic } from '@lastmeter/kafka';
import { createRedisClient } from '@lastmeter/redis';
import { MemoryCursorStore, TerminalClient } from '@lastmeter/terminal-client';
import { startApp, startApps, stopApps, type AppName, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { endOffsets } from '../support/log-reader';
import { bearer, Publisher } from '../support/write-api';

/**
 * Issue 21, item 4: anonymous pulse surveys. People signed in on their store's tablet
 * answer once each; the facts carry the store and the answers only (no person, no
 * terminal, the hour), written in shuffled batches; results show for groups of 5
 * respondents or more and say nothing at all about smaller ones; closing the survey
 * deletes what told who had answered.
 */
const ns = testNamespace('surveys', { SURVEY_BATCH_MS: '1000' });
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

const QUESTIONS = [
  { type: 'scale', prompt: 'How was the week?', min: 1, max: 5 },
  { type: 'choice', prompt: 'Which shift suits you?', options: ['morning', 'evening'] },
  { type: 'text', prompt: 'One thing to improve?' },
];

/** A store with `count` staff and a tablet on which each of them is signed in. */
async function storeWithStaff(code: string, region: string, count: number) {
  const storeId = await api.store(code, region);
  const { token } = await api.terminal(storeId);
  const client = new TerminalClient({ url: apps.gateway.url, token, cursors: new MemoryCursorStore() });
  clients.push(client);
  const received: FeedMessage[] = [];
  client.onItem((item) => received.push(item));
  await client.connect();
  const sessions: StaffSession[] = [];
  for (let i = 0; i < count; i++) {
    const { id } = (
      await request(apps.command.url)
        .post(`/v1/stores/${storeId}/staff`)
        .set(bearer(api.token('hq-admin')))
        .send({ name: `${code} person ${i}`, roles: ['cashier'], pin: '1234' })
        .expect(201)
    ).body;
    sessions.push(
      (
        await request(apps.command.url)
          .post(`/v1/stores/${storeId}/staff/${id}/sign-in`)
          .set(bearer(token))
          .send({ pin: '1234' })
          .expect(200)
      ).body,
    );
  }
  return { storeId, client, received, sessions };
}

const results = async (id: string, query = ''): Promise<SurveyResults> =>
  (
    await request(apps.gateway.url)
      .get(`/v1/communications/${id}/survey${query}`)
      .set(bearer(api.token('hq-editor')))
      .expect(200)
  ).body;

it('counts each person once, anonymously, and shows only groups of 5 or more', async () => {
  const region = await api.region('pulse');
  const big = await storeWithStaff('PULSE-6', region, 6);
  const small = await storeWithStaff('PULSE-4', region, 4);
  const id = await api.publish({
    kind: 'survey',
    title: 'Weekly pulse',
    audience: { regionIds: [region] },
    survey: { questions: QUESTIONS },
  });
  for (const store of [big, small]) {
    await eventually(() =>
      expect(store.received.some((m) => 'communication' in m && m.communication.id === id)).toBe(true),
    );
  }
  const item = big.received.find((m): m is FeedItem => 'communication' in m && m.communication.id === id)!;
  expect(item.communication.survey).toEqual({ questions: QUESTIONS });
  const answer = (store: typeof big, i: number, answers: Array<number | string>) =>
    store.client.send('survey.answer', { communicationId: id, revision: 1, answers, staff: store.sessions[i]!.token });

  // Refused with field errors, and nothing written.
  const before = await endOffsets(ns.env.KAFKA_BROKERS!, topics.storeEvents);
  const refusals = await Promise.all([
    answer(big, 0, [3, 1]),
    answer(big, 0, [9, 1, 'too high']),
    answer(big, 0, [3, 1, 'x'.repeat(501)]),
    big.client.send('survey.answer', { communicationId: id, revision: 1, answers: [3, 1, 'no session'] } as never),
  ]);
  expect(refusals.map((ack) => Object.keys(ack.error?.fields ?? {}))).toEqual([
    ['answers'],
    ['answers'],
    ['answers'],
    ['staff'],
  ]);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(await endOffsets(ns.env.KAFKA_BROKERS!, topics.storeEvents)).toEqual(before);

  // Six people in one store and four in the other answer, all at once.
  const acks = await Promise.all([
    ...big.sessions.map((_, i) => answer(big, i, [1 + (i % 5), i % 2, `Idea ${i} from the big store`])),
    ...small.sessions.map((_, i) => answer(small, i, [5, 0, `Idea ${i} from the small store`])),
  ]);
  expect(acks).toEqual(Array.from({ length: 10 }, () => ({ ok: true })));
  // A second answer of the same person is the same answer.
  expect(await answer(big, 0, [5, 0, 'changed my mind'])).toEqual({ ok: true, duplicate: true });

  // The facts: the store and the answers, nobody's id, the hour, shuffled.
  const kafka = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test-surveys' });
  const records = (await readWholeTopic(kafka, topics.storeEvents)).filter(
    (m) => m.headers.type?.toString() === 'survey.answered',
  );
  expect(records).toHaveLength(10);
  const facts = records.map((m) => JSON.parse(m.value!.toString()) as EventEnvelope<string, Record<string, unknown>>);
  const everyone = [...big.sessions, ...small.sessions];
  for (const [i, fact] of facts.entries()) {
    expect(Object.keys(fact.data).sort()).toEqual(['answers', 'communicationId', 'revision', 'storeId']);
    expect(fact.actor).toEqual({ id: 'anonymous', role: 'terminal', storeId: fact.data.storeId });
    expect(fact.occurredAt).toMatch(/T\d\d:00:00\.000Z$/);
    // The record's own timestamp says no more than the hour either.
    expect(records[i]!.timestamp).toBe(String(Date.parse(fact.occurredAt)));
    for (const person of everyone) expect(JSON.stringify(fact)).not.toContain(person.staffId);
  }

  // Results: the region and the country have 10 respondents; the store of 4 is below the threshold.
  const all = await eventually(async () => {
    const shown = await results(id, `?regionId=${region}`);
    expect(shown.overall).toMatchObject({ respondents: 10, belowThreshold: false });
    return shown;
  });
  expect(all.threshold).toBe(5);
  expect(all.byRegion).toEqual([{ regionId: region, ...all.overall }]);
  const byStore = new Map(all.byStore!.map(({ storeId, ...group }) => [storeId, group]));
  expect(byStore.get(small.storeId)).toEqual({ belowThreshold: true });
  const bigStore = byStore.get(big.storeId) as Extract<SurveyResults['overall'], { belowThreshold: false }>;
  expect(bigStore.respondents).toBe(6);
  expect(bigStore.questions[0]).toEqual({
    type: 'scale',
    prompt: 'How was the week?',
    counts: { 1: 2, 2: 1, 3: 1, 4: 1, 5: 1 },
    mean: (1 + 2 + 3 + 4 + 5 + 1) / 6,
  });
  expect(bigStore.questions[1]).toEqual({
    type: 'choice',
    prompt: 'Which shift suits you?',
    options: ['morning', 'evening'],
    counts: [3, 3],
  });
  const texts = (all.overall as typeof bigStore).questions[2] as { texts: string[] };
  expect(texts.texts).toEqual([...texts.texts].sort());
  expect(texts.texts).toHaveLength(10);
  // Below the threshold, not even a text of the small store shows in its own group.
  expect(JSON.stringify(byStore.get(small.storeId))).not.toContain('small store');

  // Closing the survey deletes its key and the keyed hashes of who answered.
  const redis = createRedisClient(ns.env.REDIS_URL!, 'test-surveys');
  try {
    const personKeys = [`${ns.keyPrefix}meta:survey-key:${id}`, `${ns.keyPrefix}meta:survey-answered:${id}`];
    expect(await redis.exists(...personKeys)).toBe(2);
    await api.send('post', `/v1/communications/${id}/retract`, { reason: 'closed' });
    await eventually(async () => expect(await redis.exists(...personKeys)).toBe(0));
    expect(await answer(big, 5, [3, 1, 'late'])).toMatchObject({ ok: false });
  } finally {
    redis.disconnect();
  }
});

it('answers a survey handed out on commit as retryable while no projector has it published, and takes the answer after', async () => {
  const region = await api.region('lagging');
  const store = await storeWithStaff('PULSE-LAG', region, 1);
  // The draft is projected; its publish is not: the tablet has the survey from the
  // command service's notice on commit, the read models still say it is a draft.
  const { id } = await api.draft({
    kind: 'survey',
    title: 'Pulse while the projector is away',
    audience: { storeIds: [store.storeId] },
    survey: { questions: QUESTIONS },
  });
  await eventually(() =>
    request(apps.gateway.url)
      .get(`/v1/communications/${id}`)
      .set(bearer(api.token('hq-editor')))
      .expect(200),
  );
  await apps.projector.stop();
  const payload = { communicationId: id, revision: 1, answers: [4, 0, 'fine'], staff: store.sessions[0]!.token };
  try {
    await api.send('post', `/v1/communications/${id}/publish`);
    await eventually(() =>
      expect(store.received.some((m) => 'communication' in m && m.communication.id === id)).toBe(true),
    );
    // Not "closed", not "not a survey": try again later.
    const ack = (await store.client.socket.timeout(10_000).emitWithAck('survey.answer', payload)) as Ack;
    expect(ack).toEqual({ ok: false, error: { message: READ_MODELS_UNAVAILABLE } });
    expect(isRetryable(ack.error)).toBe(true);
  } finally {
    apps.projector = await startApp('projector', ns.env);
  }
  // The client's own retries carry the answer once the projector has caught up.
  expect(await store.client.send('survey.answer', payload)).toEqual({ ok: true });
});
