/**
 * @exclusive It kills the command service (SIGKILL) and waits for it to recover. (test/setup/e2e-environment.ts)
 */
import request from 'supertest';
import { topicNames, type EventEnvelope } from '@lastmeter/contracts';
import { createKafkaClient, readWholeTopic } from '@lastmeter/kafka';
import { restartOnSamePort, startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { eventually } from '../support/eventually';
import { testNamespace } from '../support/env';
import { readTopic } from '../support/log-reader';
import { metric } from '../support/read-side';
import { bearer, tokenFor } from '../support/write-api';

/**
 * COMMAND_DECIDE_IN_REQUEST (on by default, and here): a command of a partition this instance owns
 * is decided in its request and never goes to the commands topic; its events carry its
 * commandId. None is decided twice, not after a SIGKILL with commands in flight either,
 * and a retry with the same Idempotency-Key gets the first outcome (docs/write-side.md).
 */
const ns = testNamespace('in-request', { COMMAND_DECIDE_IN_REQUEST: 'true' });
const topics = topicNames(ns.topicPrefix);
const kafka = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test-in-request' });
let app: RunningApp | undefined;

afterAll(async () => {
  await app?.stop();
  await cleanupNamespace(ns);
});

const editor = tokenFor(ns, 'hq-editor');

/** Drafts a notice with an Idempotency-Key; status and body as answered, or the connection's error code. */
async function draft(key: string): Promise<{ status: number; id?: string; version?: number; code?: string }> {
  try {
    const response = await request(app!.url)
      .post('/v1/communications')
      .set({ ...bearer(editor), 'Idempotency-Key': key })
      .send({ kind: 'notice', title: `Notice ${key}`, body: 'b', audience: { all: true } });
    return { status: response.status, id: response.body.id, version: response.body.version };
  } catch (error) {
    return { status: 0, code: (error as NodeJS.ErrnoException).code };
  }
}

async function drafted(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const { value } of await readTopic<EventEnvelope>(ns.env.KAFKA_BROKERS!, topics.events)) {
    if (value.type === 'communication.drafted') counts.set(value.aggregateId, (counts.get(value.aggregateId) ?? 0) + 1);
  }
  return counts;
}

it('decides commands in their request, without the commands topic, and none of them twice across a SIGKILL', async () => {
  app = await startApp('command', ns.env);
  const first = await eventually(
    async () => {
      const answer = await draft('first');
      expect(answer.status).toBe(201);
      return answer;
    },
    { timeoutMs: 30_000, what: 'the first command to be decided' },
  );

  // One after another, as a user would: after the first consumed command of each
  // partition, the partitions' writers are idle when the next request comes.
  const answers = new Map<string, { status: number; id?: string }>();
  for (let i = 0; i < 40; i++) answers.set(`seq-${i}`, await draft(`seq-${i}`));
  expect([...answers.values()].filter((a) => a.status !== 201)).toEqual([]);
  const inRequest = await metric(app, 'lastmeter_command_intake_total', { path: 'request' });
  const throughLog = await metric(app, 'lastmeter_command_intake_total', { path: 'log' });
  expect(inRequest + throughLog).toBe(41);
  // Only the first command of each of the 3 partitions needs the log, and a request that
  // meets its writer busy (passing over the records just decided, committing their
  // offsets) goes there too: 38 of 41 in a run here; with the setting off, none.
  expect(inRequest).toBeGreaterThanOrEqual(20);

  // Only the commands that went through the log are in the commands topic.
  const records = await readWholeTopic(kafka, topics.commands);
  expect(records).toHaveLength(throughLog);
  expect((await drafted()).size).toBe(41);

  // Killed with commands in flight, one after another: every 2xx is decided once, and a
  // retry with the same key after the restart gets the first outcome.
  let stop = false;
  const inFlight = (async () => {
    for (let i = 0; !stop && i < 500; i++) answers.set(`kill-${i}`, await draft(`kill-${i}`));
  })();
  await eventually(() => expect([...answers.keys()].filter((k) => k.startsWith('kill-')).length).toBeGreaterThan(10));
  await app.kill('SIGKILL');
  stop = true;
  await inFlight;
  app = await restartOnSamePort(app, ns.env);

  const retried = new Map<string, { status: number; id?: string; version?: number }>();
  for (const key of ['first', ...answers.keys()]) {
    retried.set(
      key,
      await eventually(
        async () => {
          const answer = await draft(key);
          expect(answer.status).toBe(201);
          return answer;
        },
        { timeoutMs: 30_000, what: `the retry of ${key} to be answered` },
      ),
    );
  }
  // The same aggregate, at its first version: the first outcome, not a second decision.
  expect(retried.get('first')).toMatchObject({ id: first.id, version: 1 });
  for (const [key, answer] of answers) {
    if (answer.status === 201) expect({ key, id: retried.get(key)!.id }).toEqual({ key, id: answer.id });
    expect({ key, version: retried.get(key)!.version }).toEqual({ key, version: 1 });
  }
  const counts = await drafted();
  const ids = [...retried.values()].map((answer) => answer.id!);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.filter((id) => counts.get(id) !== 1)).toEqual([]);
  expect([...counts.keys()].sort()).toEqual([...ids].sort());
  // The restarted instance decides in its requests again.
  expect(await metric(app, 'lastmeter_command_intake_total', { path: 'request' })).toBeGreaterThan(0);
});
