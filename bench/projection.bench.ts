/**
 * Projection (= rebuild) throughput: the projector's runner projects BENCH_EVENTS events
 * (default 1,000,000: mostly receipts, plus feed entries and communication events, as a
 * busy chain produces them) from offset 0 into a fresh generation, until its lag is 0.
 * Baseline, same run, same topics: a minimal kafkajs consumer loop that parses each
 * event and writes one SADD per event to Redis with the same pipeline depth (2,000).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import {
  CURRENT_SCHEMA_VERSIONS,
  topicNames,
  type DomainEvent,
  type EventEnvelope,
  type TopicNames,
  type TopicRole,
} from '@lastmeter/contracts';
import { createKafkaClient, createProducer, ensureTopicsAt, type Kafka } from '@lastmeter/kafka';
import { ProjectionRunner, RedisKeys, PROJECTED } from '@lastmeter/read-models';
import { createRedisClient } from '@lastmeter/redis';
import { benchInfra, writeResults, type Measurement } from './support';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const STORES = 500;
const COMMUNICATIONS = 200;
const PIPELINE = 2_000;
const GOAL = 50_000;

function envelope(type: string, aggregateType: string, aggregateId: string, version: number, data: unknown) {
  return {
    id: randomUUID(),
    type,
    schemaVersion: CURRENT_SCHEMA_VERSIONS[type as keyof typeof CURRENT_SCHEMA_VERSIONS],
    aggregateType,
    aggregateId,
    aggregateVersion: version,
    occurredAt: new Date().toISOString(),
    actor: { id: 'bench', role: 'hq-editor' },
    commandId: randomUUID(),
    correlationId: randomUUID(),
    causationId: randomUUID(),
    data,
  } as EventEnvelope;
}

/** Writes the event mix; returns how many went to each topic. */
async function seed(kafka: Kafka, topics: TopicNames): Promise<Record<string, number>> {
  const producer = createProducer(kafka);
  await producer.connect();
  const stores = Array.from({ length: STORES }, () => randomUUID());
  const communications = Array.from({ length: COMMUNICATIONS }, () => randomUUID());
  const heads = new Map<string, number>();
  const counts: Record<string, number> = { events: 0, feed: 0, storeEvents: 0 };
  let pending: Array<{ topic: TopicRole; key: string; value: string }> = [];
  const flush = async () => {
    const byTopic = new Map<TopicRole, Array<{ key: string; value: string }>>();
    for (const { topic, key, value } of pending) byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key, value }]);
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic: topics[topic], messages })),
    });
    pending = [];
  };
  const push = async (topic: TopicRole, key: string, event: EventEnvelope) => {
    pending.push({ topic, key, value: JSON.stringify(event) });
    counts[topic]++;
    if (pending.length >= 5_000) await flush();
  };
  // Communications: drafted + published.
  for (const id of communications) {
    const content = {
      kind: 'notice',
      title: `Notice ${id}`,
      body: 'Shelf labels',
      priority: 'normal',
      audience: { all: true },
    };
    await push('events', id, envelope('communication.drafted', 'communication', id, 1, { ...content, revision: 1 }));
    await push('events', id, envelope('communication.published', 'communication', id, 2, { revision: 1 }));
  }
  let written = COMMUNICATIONS * 2;
  for (let i = 0; written < EVENTS; i++, written++) {
    const storeId = stores[i % STORES];
    const communicationId = communications[(i * 7) % COMMUNICATIONS];
    if (i % 20 === 0) {
      const feedSeq = (heads.get(storeId) ?? 0) + 1;
      heads.set(storeId, feedSeq);
      const communication = {
        id: communicationId,
        revision: 1,
        kind: 'notice',
        title: 'Notice',
        body: 'Shelf labels',
        priority: 'normal',
      };
      await push(
        'feed',
        storeId,
        envelope('feed.appended', 'feed', storeId, feedSeq, {
          storeId,
          feedSeq,
          change: 'published',
          communication,
          sourceVersion: 2,
        }),
      );
    } else {
      const kind = (['receipt.delivered', 'receipt.read', 'receipt.acknowledged'] as const)[i % 3];
      const terminalId = `t${i % 4}`;
      const receipt: DomainEvent = envelope(kind, 'store-activity', randomUUID(), 1, {
        storeId,
        terminalId,
        communicationId,
        revision: 1,
      }) as DomainEvent;
      await push('storeEvents', storeId, receipt);
    }
  }
  await flush();
  await producer.disconnect();
  return counts;
}

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
    const counts = await seed(kafka, topics);

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
    );
  } finally {
    await infra.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
