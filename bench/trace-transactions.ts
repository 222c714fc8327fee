/**
 * A trace of Kafka transactions as the partition writers run them (not a scenario of
 * `npm run bench`): `node dist/bench/trace-transactions.js` times begin, send
 * (AddPartitionsToTxn + Produce), commit (EndTxn) and commit → visible to a
 * read_committed consumer, for one producer, seven side by side (a publish's feed
 * partitions) and a transaction right after one with offsets (a decision followed by its
 * own partition's feed), then prints each request type's count and latency.
 */
import { randomBytes } from 'node:crypto';
import { createKafkaClient, createProducer } from '@lastmeter/kafka';
import { benchInfra, percentile, runMain } from './support';
import { createScratchTopics } from './lib/topics';

const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
const at = (p: number) => (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    p,
  ).toFixed(1);
const p50 = at(50);
const p90 = at(90);

async function main(): Promise<void> {
  const infra = await benchInfra();
  const kafka = createKafkaClient({ brokers: [infra.brokers], clientId: 'probe' });
  const topic = `probe-${randomBytes(3).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await createScratchTopics(admin, [topic]);
  const producers = Array.from({ length: 8 }, (_, i) =>
    createProducer(kafka, { transactionalId: `probe-${topic}-${i}` }),
  );
  await Promise.all(producers.map((p) => p.connect()));
  const durations = new Map<string, number[]>();
  for (const p of producers) {
    p.on(p.events.REQUEST, ({ payload }) => {
      const list = durations.get(payload.apiName) ?? [];
      list.push(payload.duration);
      durations.set(payload.apiName, list);
    });
  }
  const consumer = kafka.consumer({ groupId: `${topic}.c`, maxWaitTimeInMs: 50 });
  const waiting = new Map<string, (at: bigint) => void>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ message }) => waiting.get(message.key!.toString())?.(process.hrtime.bigint()),
  });
  await joined;
  let n = 0;
  const one = async (pi: number, offsets = false) => {
    const key = String(n++);
    const seen = new Promise<bigint>((r) => waiting.set(key, r));
    const t0 = process.hrtime.bigint();
    const txn = await producers[pi]!.transaction();
    const t1 = process.hrtime.bigint();
    await txn.sendBatch({ topicMessages: [{ topic, messages: [{ key, value: 'x'.repeat(500), partition: pi }] }] });
    if (offsets) {
      await txn.sendOffsets({
        consumerGroupId: `${topic}.g`,
        topics: [{ topic, partitions: [{ partition: pi, offset: key }] }],
      });
    }
    const t2 = process.hrtime.bigint();
    await txn.commit();
    const t3 = process.hrtime.bigint();
    const t4 = await seen;
    return { begin: ms(t0, t1), send: ms(t1, t2), commit: ms(t2, t3), visible: ms(t3, t4), total: ms(t0, t4) };
  };
  const report = async (label: string, rounds: number, run: () => Promise<Array<Awaited<ReturnType<typeof one>>>>) => {
    const all: Array<Awaited<ReturnType<typeof one>>> = [];
    for (let i = 0; i < rounds; i++) {
      all.push(...(await run()));
      await new Promise((r) => setTimeout(r, 30));
    }
    const f = (k: keyof (typeof all)[0]) => `${k} ${p50(all.map((x) => x[k]))}/${p90(all.map((x) => x[k]))}`;
    console.error(
      `${label}: ${['begin', 'send', 'commit', 'visible', 'total'].map((k) => f(k as never)).join(' | ')} (p50/p90 ms)`,
    );
  };
  await report('warm-up', 10, async () => [await one(0)]);
  await report('one producer', 40, async () => [await one(0)]);
  await report('7 side by side', 40, async () => Promise.all([1, 2, 3, 4, 5, 6, 7].map((pi) => one(pi))));
  await report('two in a row, same producer (2nd)', 30, async () => {
    await one(0);
    return [await one(0)];
  });
  await report('after one with offsets, same producer (2nd)', 30, async () => {
    await one(0, true);
    return [await one(0)];
  });
  for (const [api, list] of durations) console.error(`${api}: ${list.length} × p50 ${p50(list)} p90 ${p90(list)} ms`);
  await consumer.disconnect();
  await Promise.all(producers.map((p) => p.disconnect()));
  await admin.disconnect();
  await infra.stop();
}

runMain(main);
