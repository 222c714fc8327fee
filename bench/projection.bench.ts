/**
 * Projection (= rebuild) throughput: the projector's runner projects BENCH_EVENTS events
 * (default 1,000,000: mostly receipts, plus feed entries and communication events, as a
 * busy chain produces them) from offset 0 into a fresh generation, until its lag is 0.
 * Baseline, same run, same topics: a minimal kafkajs consumer loop that parses each
 * event and writes one SADD per event to Redis with the same pipeline depth (2,000).
 */
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { topicNames, type EventEnvelope, type TopicNames } from '@lastmeter/contracts';
import { createKafkaClient, ensureTopicsAt, type Kafka } from '@lastmeter/kafka';
import { ProjectionRunner, RedisKeys, PROJECTED } from '@lastmeter/read-models';
import { createRedisClient } from '@lastmeter/redis';
import { seedEventMix } from './event-mix';
import { sized } from './lib/results';
import { benchInfra, runMain, writeResults, type Measurement } from './support';

const EVENTS = Number(process.env.BENCH_EVENTS ?? sized({ full: 1_000_000, quick: 100_000, tiny: 2_000 }));
const STORES = 500;
const COMMUNICATIONS = 200;
const PIPELINE = 2_000;
const GOAL = 50_000;

async function untilDrained(lag: () => Promise<number>): Promise<void> {
  while ((await lag()) > 0) await new Promise((resolve) => setTimeout(resolve, 200));
}

async function endOffsets(kafka: Kafka, topics: TopicNames): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, number>();
  for (const role of PROJECTED) {
    for (const { partition, offset } of await admin.fetchTopicOffsets(topics[role])) {
      ends.set(`${topics[role]}/${partition}`, Number(offset));
    }
  }
  await admin.disconnect();
  return ends;
}

/** The baseline: parse each event, one SADD per event, pipelines of PIPELINE commands. */
async function baseline(kafka: Kafka, topics: TopicNames, redisUrl: string, prefix: string): Promise<number> {
  const redis = createRedisClient(redisUrl, 'bench-baseline');
  const ends = await endOffsets(kafka, topics);
  const positions = new Map<string, number>();
  const consumer = kafka.consumer({
    groupId: `${prefix}baseline`,
    readUncommitted: false,
    maxWaitTimeInMs: 50,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
    positions.set(`${payload.topic}/${payload.partition}`, Number(payload.lastOffset) + 1),
  );
  await consumer.connect();
  await consumer.subscribe({ topics: PROJECTED.map((r) => topics[r]), fromBeginning: true });
  const started = process.hrtime.bigint();
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 6,
    eachBatch: async ({ batch }) => {
      for (let from = 0; from < batch.messages.length; from += PIPELINE) {
        const pipeline = redis.pipeline();
        for (const message of batch.messages.slice(from, from + PIPELINE)) {
          const event = JSON.parse(message.value!.toString()) as EventEnvelope;
          pipeline.sadd(`${prefix}baseline:${event.aggregateId}`, event.id);
        }
        await pipeline.exec();
      }
    },
  });
  await untilDrained(async () => [...ends].reduce((n, [k, end]) => n + Math.max(0, end - (positions.get(k) ?? 0)), 0));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await consumer.disconnect();
  redis.disconnect();
  return seconds;
}

async function main(): Promise<void> {
  const infra = await benchInfra();
  const prefix = `bench-${randomBytes(3).toString('hex')}.`;
  const topics = topicNames(prefix);
  const kafka = createKafkaClient({ brokers: [infra.brokers], clientId: 'bench-projection' });
  try {
    await ensureTopicsAt([infra.brokers], topics, { partitions: 12, replicationFactor: 1 });
    console.error(`seeding ${EVENTS} events…`);
    const { counts } = await seedEventMix(kafka, topics, EVENTS, { stores: STORES, communications: COMMUNICATIONS });

    const redis = createRedisClient(infra.redisUrl, 'bench-projection');
    let applied = 0;
    let deadLetters = 0;
    const runner = new ProjectionRunner({
      kafka,
      redis,
      topics,
      keys: new RedisKeys(prefix, 'g1'),
      notify: () => false,
      onBatch: ({ result }) => {
        applied += result.applied;
        deadLetters += result.failed.length;
      },
    });
    const started = process.hrtime.bigint();
    await runner.start();
    await untilDrained(async () => (await runner.lag()).reduce((n, l) => n + l.lag, 0));
    const projectionSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    await runner.stop();
    redis.disconnect();
    if (deadLetters > 0) throw new Error(`${deadLetters} events went to the DLQ`);

    const baselineSeconds = await baseline(kafka, topics, infra.redisUrl, prefix);
    const row = (name: string, seconds: number): Measurement => ({
      name,
      operations: EVENTS,
      seconds: Number(seconds.toFixed(3)),
      perSecond: Math.round(EVENTS / seconds),
      p50ms: 0,
      p99ms: 0,
    });
    const projection = row('projection from offset 0 (= lastmeter rebuild), all read models', projectionSeconds);
    const bare = row(
      `baseline: kafkajs consume + JSON.parse + 1 SADD per event, pipeline ${PIPELINE}`,
      baselineSeconds,
    );
    writeResults(
      'projection',
      {
        machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
        events: EVENTS,
        mix: counts,
        applied,
        goal: `>= ${GOAL} events/s`,
        'projection / baseline throughput': Number((projection.perSecond / bare.perSecond).toFixed(3)),
        'meets goal': projection.perSecond >= GOAL,
      },
      [projection, bare],
      {
        title: `Projection from offset 0 (= rebuild) over ${EVENTS.toLocaleString('en')} events`,
        metrics: [
          {
            name: 'events projected',
            unit: '/s',
            value: projection.perSecond,
            baseline: bare.perSecond,
            baselineName: 'kafkajs consume + JSON.parse + 1 SADD',
            lowerIsBetter: false,
            goal: GOAL,
            goalIsAbsolute: true,
          },
        ],
      },
    );
  } finally {
    await infra.stop();
  }
}

runMain(main);
