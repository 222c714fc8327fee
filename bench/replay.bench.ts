/**
 * Replay throughput: GET /v1/events streaming BENCH_EVENTS events (default 1,000,000) as
 * NDJSON from the gateway process to this one, against a bare kafkajs consumer reading
 * the same range of the same topics (no parsing, no merge), same run. Also time travel:
 * the latency of GET /v1/stores/:id/feed?asOf for a store with 1,000 feed entries.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { get } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { JwtService } from '@nestjs/jwt';
import { feedEvent, topicNames, type TopicNames } from '@lastmeter/contracts';
import { createKafkaClient, ensureTopicsAt, type Kafka } from '@lastmeter/kafka';
import { freePort } from '@lastmeter/infra';
import { defaultReplayWorkers, LogReplay } from '@lastmeter/history';
import { Projection, RedisKeys, PROJECTED } from '@lastmeter/read-models';
import { createRedisClient } from '@lastmeter/redis';
import { seedEventMix } from './event-mix';
import { sized } from './lib/results';
import { benchInfra, runMain, percentile, startBuiltApp, writeResults, type Measurement } from './support';

const EVENTS = Number(process.env.BENCH_EVENTS ?? sized({ full: 1_000_000, quick: 100_000, tiny: 2_000 }));
const FEED_ITEMS = 1_000;
const GOAL = 100_000;

/** Reads the whole NDJSON response; resolves with the number of lines. */
function streamLines(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { authorization: `Bearer ${token}` } }, (response) => {
      if (response.statusCode !== 200) reject(new Error(`replay: ${response.statusCode}`));
      let lines = 0;
      response.on('data', (chunk: Buffer) => {
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      });
      response.on('end', () => resolve(lines));
      response.on('error', reject);
    }).on('error', reject);
  });
}

/** The baseline: a bare consumer reading every projected topic to its end, nothing else. */
async function bareConsumer(kafka: Kafka, topics: TopicNames): Promise<{ seconds: number; messages: number }> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, number>();
  for (const role of PROJECTED) {
    for (const { partition, offset } of await admin.fetchTopicOffsets(topics[role])) {
      if (Number(offset) > 0) ends.set(`${topics[role]}/${partition}`, Number(offset));
    }
  }
  await admin.disconnect();
  const consumer = kafka.consumer({
    groupId: `bench-bare-${randomUUID()}`,
    maxWaitTimeInMs: 50,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  let messages = 0;
  const started = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const key = `${payload.topic}/${payload.partition}`;
      if (Number(payload.lastOffset) + 1 >= (ends.get(key) ?? 0)) ends.delete(key);
      if (ends.size === 0) resolve();
    });
    void consumer
      .connect()
      .then(() => consumer.subscribe({ topics: PROJECTED.map((r) => topics[r]), fromBeginning: true }))
      .then(() =>
        consumer.run({
          autoCommit: false,
          partitionsConsumedConcurrently: 3,
          eachBatch: async ({ batch }) => {
            messages += batch.messages.length;
          },
        }),
      )
      .catch(reject);
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await consumer.disconnect();
  return { seconds, messages };
}

async function main(): Promise<void> {
  const infra = await benchInfra();
  const prefix = `bench-${randomBytes(3).toString('hex')}.`;
  const secret = randomBytes(32).toString('hex');
  const topics = topicNames(prefix);
  const kafka = createKafkaClient({ brokers: [infra.brokers], clientId: 'bench-replay' });
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    KAFKA_BROKERS: infra.brokers,
    REDIS_URL: infra.redisUrl,
    KAFKA_TOPIC_PREFIX: prefix,
    REDIS_KEY_PREFIX: prefix,
    LASTMETER_JWT_SECRET: secret,
  };
  try {
    await ensureTopicsAt([infra.brokers], topics, { partitions: 12, replicationFactor: 1 });
    console.error(`seeding ${EVENTS} events…`);
    await seedEventMix(kafka, topics, EVENTS);
    const port = await freePort();
    const gateway = await startBuiltApp('gateway', env, port);
    const token = new JwtService({ secret }).sign({ sub: 'bench', role: 'analyst' }, { issuer: 'lastmeter' });
    try {
      console.error('replaying through GET /v1/events…');
      const started = process.hrtime.bigint();
      const lines = await streamLines(`http://127.0.0.1:${port}/v1/events`, token);
      const replaySeconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (lines !== EVENTS) throw new Error(`replay returned ${lines} events, expected ${EVENTS}`);
      // The library alone, NDJSON lines counted: with its worker threads, and parsing on the
      // reading thread (REPLAY_WORKERS=0), which is what the HTTP path did before the workers.
      const inProcess = async (workers: number) => {
        const replay = new LogReplay(kafka, topics, { workers });
        const started = process.hrtime.bigint();
        let lines = 0;
        try {
          for await (const chunk of replay.chunks({}))
            for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        } finally {
          await replay.close();
        }
        return { lines, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
      };
      console.error('replaying in this process (LogReplay, no HTTP), with worker threads…');
      const withWorkers = await inProcess(defaultReplayWorkers());
      console.error('replaying in this process (LogReplay, no HTTP), parsing on the main thread…');
      const inline = await inProcess(0);
      for (const { lines } of [withWorkers, inline])
        if (lines !== EVENTS) throw new Error(`LogReplay returned ${lines} events, expected ${EVENTS}`);
      console.error('reading the same range with a bare kafkajs consumer…');
      const bare = await bareConsumer(kafka, topics);

      // Time travel over a store with FEED_ITEMS entries, projected by the projector's own code.
      const storeId = randomUUID();
      const redis = createRedisClient(infra.redisUrl, 'bench-asof');
      const projection = new Projection(redis, new RedisKeys(prefix, 'g1'));
      const t0 = Date.now() - FEED_ITEMS * 60_000;
      const entries = Array.from({ length: FEED_ITEMS }, (_, i) => {
        const feedSeq = i + 1;
        const event = feedEvent(
          {
            storeId,
            feedSeq,
            change: i % 3 === 2 ? 'retracted' : 'published',
            communication: {
              id: `00000000-0000-4000-8000-${String(i % 400).padStart(12, '0')}`,
              revision: 1,
              kind: 'notice',
              title: `Notice ${i}`,
              body: 'Please check the shelf labels in aisle 3 before opening. '.repeat(4),
              priority: 'normal',
            },
            sourceVersion: 1,
          },
          randomUUID(),
          new Date(t0 + i * 60_000).toISOString(),
        );
        return {
          topic: 'feed' as const,
          partition: 0,
          offset: String(i),
          key: null,
          value: Buffer.from(JSON.stringify(event)),
        };
      });
      await projection.apply(entries);
      // The gateway needs the store in its directory to answer.
      const storeEvent = {
        id: randomUUID(),
        type: 'store.registered',
        schemaVersion: 1,
        aggregateType: 'store',
        aggregateId: storeId,
        aggregateVersion: 1,
        occurredAt: new Date(t0).toISOString(),
        actor: { id: 'bench', role: 'hq-admin' },
        commandId: 'c',
        correlationId: 'c',
        causationId: 'c',
        data: { code: 'AS1', name: 'As of', regionId: 'r', tags: [], locale: 'fr', timezone: 'UTC' },
      };
      await projection.apply([
        { topic: 'events', partition: 0, offset: '0', key: null, value: Buffer.from(JSON.stringify(storeEvent)) },
      ]);
      redis.disconnect();
      const latencies: number[] = [];
      for (let i = 0; i < 200; i++) {
        const asOf = new Date(t0 + Math.floor(Math.random() * FEED_ITEMS * 60_000)).toISOString();
        const t = process.hrtime.bigint();
        const response = await fetch(`http://127.0.0.1:${port}/v1/stores/${storeId}/feed?asOf=${asOf}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        if (response.status !== 200) throw new Error(`asOf: ${response.status} ${await response.text()}`);
        await response.arrayBuffer();
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      latencies.sort((a, b) => a - b);

      const row = (name: string, operations: number, seconds: number, p50 = 0, p99 = 0): Measurement => ({
        name,
        operations,
        seconds: Number(seconds.toFixed(3)),
        perSecond: Math.round(operations / seconds),
        p50ms: p50,
        p99ms: p99,
      });
      const replay = row('GET /v1/events → NDJSON (merge, upcast, HTTP)', EVENTS, replaySeconds);
      const library = row(
        `LogReplay.chunks in-process (no HTTP), ${defaultReplayWorkers()} parsing worker(s)`,
        withWorkers.lines,
        withWorkers.seconds,
      );
      const libraryInline = row(
        'LogReplay.chunks in-process, parsing on the main thread',
        inline.lines,
        inline.seconds,
      );
      const baseline = row('baseline: bare kafkajs consumer, same topics and range', bare.messages, bare.seconds);
      const asOfSeconds = latencies.reduce((a, b) => a + b, 0) / 1_000;
      const asOf = row(
        `GET /v1/stores/:id/feed?asOf, store with ${FEED_ITEMS} entries`,
        latencies.length,
        asOfSeconds,
        Number(percentile(latencies, 50).toFixed(1)),
        Number(percentile(latencies, 99).toFixed(1)),
      );
      writeResults(
        'replay',
        {
          machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
          events: EVENTS,
          goal: `>= ${GOAL} events/s`,
          'replay / baseline throughput': Number((replay.perSecond / baseline.perSecond).toFixed(3)),
          'meets goal': replay.perSecond >= GOAL,
        },
        [replay, library, libraryInline, baseline, asOf],
        {
          title: `Replay through GET /v1/events over ${EVENTS.toLocaleString('en')} events`,
          metrics: [
            {
              name: 'events replayed over HTTP',
              unit: '/s',
              value: replay.perSecond,
              baseline: baseline.perSecond,
              baselineName: 'bare kafkajs consumer',
              lowerIsBetter: false,
              goal: GOAL,
              goalIsAbsolute: true,
            },
            { name: 'asOf of a store with 1,000 entries, p50', unit: 'ms', value: asOf.p50ms, lowerIsBetter: true },
          ],
        },
      );
    } finally {
      gateway.kill('SIGTERM');
    }
  } finally {
    await infra.stop();
  }
}

runMain(main);
