/**
 * @exclusive It pauses a command service (SIGSTOP) past its group session timeout and waits out the take-over. (test/setup/e2e-environment.ts)
 */
import request from 'supertest';
import { topicNames, type DomainEvent } from '@lastmeter/contracts';
import { createKafkaClient } from '@lastmeter/kafka';
import { startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';
import { eventsAndTitles, feedsByStore, readTopic } from '../support/log-reader';
import { bearer, Publisher, tokenFor } from '../support/write-api';

/**
 * A zombie decider: command service A is paused (SIGSTOP, as a long GC pause or a frozen
 * VM would) past the decider group's session timeout (6 s, decider.service.ts), B takes
 * over its partitions and keeps deciding and sequencing, then A is resumed (SIGCONT) with
 * its consumer, its open transactions and its HTTP requests as they were. Whatever A
 * still tries to write must be fenced: no store's feed gets a gap or a duplicate, and each
 * publish is in each store's feed exactly once.
 */
// The production partition count (12), so that the stores land in most partitions and
// both instances own several.
const ns = testNamespace('zombie-decider', { KAFKA_PARTITIONS: '12' });
const topics = topicNames(ns.topicPrefix);
/** Longer than the session timeout (6 s) plus a rebalance, fencing and catch-up. */
const PAUSE_MS = 12_000;
/** How long both serve after each resume (a resumed A that rejoins the group means another rebalance). */
const RESUMED_MS = 8_000;
/** A request to the paused A waits for the resume; this only bounds a request that never ends. */
const CLIENT_TIMEOUT_MS = 45_000;
const STORES = 24;
/**
 * Pauses per run: 2 in the suite; a soak runs more (`ZOMBIE_ROUNDS=6`, docs/write-side.md),
 * which is how an instance in the group twice was found.
 */
const ROUNDS = Number(process.env.ZOMBIE_ROUNDS ?? 2);

let a: RunningApp | undefined;
let b: RunningApp | undefined;
let paused = false;

/** What the test did and when, for a failure's evidence (beside the apps' own lines). */
const timeline: string[] = [];
const mark = (what: string) => timeline.push(`${new Date().toISOString().slice(11, 23)} test: ${what}`);

function pause(): void {
  a!.process.kill('SIGSTOP');
  paused = true;
  mark('A paused (SIGSTOP)');
}

/** Always called before the apps are stopped: a stopped process would not act on SIGTERM. */
function resume(): void {
  if (!paused) return;
  a?.process.kill('SIGCONT');
  paused = false;
  mark('A resumed (SIGCONT)');
}

beforeAll(async () => {
  // Both join the decider group at about the same time: one rebalance, partitions split.
  [a, b] = await Promise.all([startApp('command', ns.env), startApp('command', ns.env)]);
});

afterAll(async () => {
  resume();
  await Promise.all([a?.stop(), b?.stop()]);
  await cleanupNamespace(ns);
});

function feeds(): Promise<Map<string, Array<[number, string, string]>>> {
  return feedsByStore(ns.env.KAFKA_BROKERS!, topics.feed);
}

/** One draft + publish as a client sees it. */
interface Attempt {
  n: number;
  via: 'A' | 'B';
  startedAt: number;
  answeredAt?: number;
  draft?: number;
  publish?: number;
  id?: string;
  error?: string;
}

/** The decider group (decider.service.ts: `<commands topic>.decider`): its state and how many members. */
async function deciderGroup(): Promise<{ state: string; members: number }> {
  const admin = createKafkaClient({ brokers: ns.env.KAFKA_BROKERS!.split(','), clientId: 'test-group' }).admin();
  await admin.connect();
  try {
    const {
      groups: [group],
    } = await admin.describeGroups([`${topics.commands}.decider`]);
    return { state: group?.state ?? 'none', members: group?.members.length ?? 0 };
  } finally {
    await admin.disconnect();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * For a failure's evidence: each store's feed entries (in log order) around a feedSeq that
 * is repeated or out of order, with the partition, the entry's event id, its command and
 * the communication's title (which names the attempt).
 */
async function repeatedSeqs(): Promise<string> {
  const { titles } = await eventsAndTitles(ns.env.KAFKA_BROKERS!, topics.events);
  const records = await readTopic<DomainEvent<'feed.appended'>>(ns.env.KAFKA_BROKERS!, topics.feed);
  const byStore = new Map<string, typeof records>();
  for (const record of records) {
    const store = record.value.data.storeId;
    byStore.set(store, [...(byStore.get(store) ?? []), record]);
  }
  const lines: string[] = [];
  for (const [store, entries] of byStore) {
    // The first place its numbering goes wrong, and a few entries either side.
    const i = entries.findIndex(({ value }, at) => value.data.feedSeq !== at + 1);
    if (i < 0) continue;
    entries.slice(Math.max(0, i - 3), i + 4).forEach(({ partition, value: e }, k) => {
      const title = titles.get(e.data.communication.id) ?? e.data.communication.id;
      lines.push(
        `store ${store} p${partition} #${Math.max(0, i - 3) + k + 1}: seq ${e.data.feedSeq} ${e.data.change} "${title}" id ${e.id} command ${e.commandId} at ${e.occurredAt}`,
      );
    });
    if (lines.length > 200) break;
  }
  return lines.join('\n') || '(none)';
}

it(
  'a command service paused past its session timeout and resumed writes no gap and no duplicate in any feed',
  async () => {
    const editor = bearer(tokenFor(ns, 'hq-editor'));
    // Until both deciders own their partitions (the group's first rebalance) a command may
    // be answered 202; the same Idempotency-Key returns the one outcome.
    for (const app of [a!, b!]) {
      await eventually(
        async () => {
          const response = await request(app.url)
            .post('/v1/communications')
            .set({ ...editor, 'Idempotency-Key': `warm-up-${app.port}` })
            .send({ kind: 'notice', title: 'Warm-up', body: 'Body', audience: { all: true } });
          expect(response.status).toBe(201);
        },
        { timeoutMs: 60_000, what: `a draft through the command service on port ${app.port}` },
      );
    }
    const api = new Publisher(b!.url, ns);
    const region = await api.region('zombies');
    const stores: string[] = [];
    for (let i = 1; i <= STORES; i++) stores.push(await api.store(`Z${String(i).padStart(2, '0')}`, region));

    // Publishers through both services, two each, every publish titled `zombie <n>`. A
    // request to the paused A hangs until the resume (then A answers it, a zombie's stale
    // request); the others go on through B. Failures are part of the scenario.
    const attempts: Attempt[] = [];
    let running = true;
    let counter = 0;
    let rounds = 0;
    const attempt = async (app: RunningApp, via: 'A' | 'B'): Promise<void> => {
      const record: Attempt = { n: ++counter, via, startedAt: Date.now() };
      attempts.push(record);
      try {
        const drafted = await request(app.url)
          .post('/v1/communications')
          .set(editor)
          .timeout(CLIENT_TIMEOUT_MS)
          .send({ kind: 'notice', title: `zombie ${record.n}`, body: 'Body', audience: { regionIds: [region] } });
        record.draft = drafted.status;
        if (drafted.status !== 201) return;
        record.id = drafted.body.id as string;
        const published = await request(app.url)
          .post(`/v1/communications/${record.id}/publish`)
          .set(editor)
          .timeout(CLIENT_TIMEOUT_MS)
          .send({});
        record.publish = published.status;
      } catch (error) {
        record.error = (error as Error & { code?: string }).code ?? (error as Error).message;
      } finally {
        record.answeredAt = Date.now();
      }
    };
    const workers = [a!, a!, b!, b!].map(async (app) => {
      const via = app === a ? 'A' : 'B';
      while (running) await attempt(app, via).catch(() => undefined);
    });
    const published = (via: 'A' | 'B' | undefined, since = 0) =>
      attempts.filter((r) => (!via || r.via === via) && r.publish === 200 && r.startedAt >= since);
    const summary = () =>
      JSON.stringify(
        attempts.map(({ n, via, startedAt, answeredAt, draft, publish, error }) => ({
          n,
          via,
          ms: answeredAt === undefined ? undefined : answeredAt - startedAt,
          draft,
          publish,
          error,
        })),
      );

    try {
      await eventually(
        () => {
          expect(published('A').length).toBeGreaterThanOrEqual(3);
          expect(published('B').length).toBeGreaterThanOrEqual(3);
        },
        { timeoutMs: 30_000, what: 'a few publishes through each service' },
      );

      for (let round = 1; round <= ROUNDS; round++) {
        // A is a zombie only if it owns partitions when paused: both are in the decider group.
        // After a resume, A's fenced decider (kafkajs does not restart a consumer whose batch
        // failed with a non-retriable error such as its fenced producer's) joins again.
        await eventually(async () => expect(await deciderGroup()).toEqual({ state: 'Stable', members: 2 }), {
          timeoutMs: 30_000,
          what: `round ${round}: both services in the decider group`,
        });
        rounds = round;
        const pausedAt = Date.now();
        pause();
        await sleep(PAUSE_MS);
        // B took over: publishes started after the pause are answered 200 by B, and one of
        // them reaches every store's feed while A is still paused, so B also sequences the
        // feeds of the stores whose partitions A owned.
        const duringPause = published('B', pausedAt);
        expect({ round, publishedThroughB: duringPause.length > 0 }).toEqual({ round, publishedThroughB: true });
        const witness = duringPause.at(-1)!.id!;
        await eventually(
          async () => {
            const byStore = await feeds();
            const missing = stores.filter(
              (store) => !(byStore.get(store) ?? []).some(([, change, id]) => change === 'published' && id === witness),
            );
            expect({ round, storesWithoutAPublishOfThePause: missing }).toEqual({
              round,
              storesWithoutAPublishOfThePause: [],
            });
          },
          { timeoutMs: 20_000, what: `round ${round}: a publish of the pause in every store's feed` },
        );

        mark(`round ${round}: a publish of the pause is in every store's feed`);
        resume();
        const resumedAt = Date.now();
        await sleep(RESUMED_MS);
        await eventually(() => expect(published(undefined, resumedAt).length).toBeGreaterThanOrEqual(3), {
          timeoutMs: 30_000,
          what: `round ${round}: publishes after the resume`,
        });
      }
    } finally {
      running = false;
      resume();
    }
    await Promise.all(workers);
    mark(`publishers stopped after ${attempts.length} attempts; the final check begins`);
    const acceptedIds = published(undefined).map((r) => r.id!);
    expect(acceptedIds.length).toBeGreaterThan(10);

    // Re-read each time: a command answered 202 during a take-over is decided later.
    try {
      await eventually(
        async () => {
          const { events, titles } = await eventsAndTitles(ns.env.KAFKA_BROKERS!, topics.events);
          const zombies = events.filter((e) => titles.get(e.aggregateId)?.startsWith('zombie '));
          // Each decision is in the log once: every communication's versions are 1..n.
          const versions = new Map<string, number[]>();
          for (const e of zombies)
            versions.set(e.aggregateId, [...(versions.get(e.aggregateId) ?? []), e.aggregateVersion]);
          const misnumbered = [...versions].filter(([, seen]) => seen.some((version, i) => version !== i + 1));
          expect(misnumbered).toEqual([]);
          const publishedIds = zombies
            .filter((e) => e.type === 'communication.published')
            .map((e) => e.aggregateId)
            .sort();
          // Every publish answered 200 is in the log.
          expect(acceptedIds.filter((id) => !publishedIds.includes(id))).toEqual([]);
          const byStore = await feeds();
          for (const store of stores) {
            const entries = byStore.get(store) ?? [];
            const seqs = entries.map(([seq]) => seq);
            expect({ store, seqs }).toEqual({ store, seqs: entries.map((_, i) => i + 1) });
            const inFeed = entries
              .filter(([, change, id]) => change === 'published' && titles.get(id)?.startsWith('zombie '))
              .map(([, , id]) => id)
              .sort();
            expect({ store, inFeed }).toEqual({ store, inFeed: publishedIds });
          }
        },
        { timeoutMs: 60_000, what: 'every store to have each publish once, numbered without gap' },
      );
    } catch (error) {
      const worth =
        /fenc|epoch|ILLEGAL_GENERATION|UNKNOWN_MEMBER_ID|REBALANCE|Crash|not sequenced|not ready|stopped|joined the decider group|not assigned/i;
      const said = (app: RunningApp) =>
        app.output
          .filter((line) => worth.test(line))
          .slice(-60)
          .join('\n');
      // What failed first: a CI excerpt keeps the head and the tail of a long output.
      const failed = (error as Error).message.slice(0, 2_000);
      console.log(
        `zombie suite failed: ${failed}\n` +
          `the test (${rounds} pause(s)):\n${timeline.join('\n')}\n` +
          `zombie A said:\n${said(a!)}\n` +
          `B said:\n${said(b!)}\n` +
          `attempts: ${summary()}\n` +
          `feed entries around a repeated or missing feedSeq:\n${await repeatedSeqs()}`,
      );
      throw error;
    }

    // What became of A: still running and serving, its decider back in the group.
    expect({ exitCode: a!.process.exitCode, signal: a!.process.signalCode }).toEqual({ exitCode: null, signal: null });
    expect((await fetch(`${a!.url}/v1/health/live`)).status).toBe(200);
    await eventually(async () => expect(await deciderGroup()).toEqual({ state: 'Stable', members: 2 }), {
      timeoutMs: 30_000,
      what: 'the resumed service back in the decider group',
    });
  },
  60_000 + ROUNDS * 45_000,
);
