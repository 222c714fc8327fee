/**
 * Kafka floor: produce → consume latency of one message on the bench's broker, with the
 * producer settings Last Meter uses (idempotent, acks=all) and the consumer settings of
 * its projector (maxWaitTimeInMs 50), one message at a time. Nothing Last Meter does can
 * deliver faster than this.
 *
 * Beside it, for reading the end-to-end row (not its floor): the chain of Kafka steps the
 * write side's guarantees take, in bare kafkajs with nothing of ours in it
 * (`transactionalChain`).
 */
import { ACKS_ALL, createKafkaClient, createProducer, type Admin, type Consumer, type Kafka } from '@lastmeter/kafka';
import { FLOOR_METRICS } from './lib/floors';
import { FLOOR_CONSUMER_MAX_WAIT_MS, openKafkaRounds } from './lib/kafka-round';
import { samplePayload } from './lib/payload';
import { sized, summary, thin, writeScenario } from './lib/results';
import { benchInfra, runMain } from './support';
import { createScratchTopics } from './lib/topics';

const MESSAGES = sized({ full: 500, quick: 200, tiny: 20 });

async function main(): Promise<void> {
  const infra = await benchInfra();
  const kafka = createKafkaClient({ brokers: [infra.brokers], clientId: 'bench-kafka-floor' });
  const admin = kafka.admin();
  await admin.connect();
  const rounds = await openKafkaRounds(infra.brokers, 'bench-kafka-floor');
  try {
    const body = JSON.stringify(samplePayload());
    const endToEnd: number[] = [];
    const acked: number[] = [];
    for (let i = -20; i < MESSAGES; i++) {
      // The first 20 warm up connections and metadata; they are not counted.
      const round = await rounds.round();
      if (i >= 0) {
        acked.push(round.acked);
        endToEnd.push(round.consumed);
      }
    }
    const e2e = summary(endToEnd);
    const ack = summary(acked);
    const chain = summary(await transactionalChain(kafka, admin, `${rounds.topic}-c`, body, { feedInDecision: true }));
    const split = summary(await transactionalChain(kafka, admin, `${rounds.topic}-s`, body, { feedInDecision: false }));
    writeScenario({
      scenario: 'kafka-floor',
      title: 'Kafka floor: produce → consume, idempotent acks=all',
      parameters: {
        messages: MESSAGES,
        partitions: 12,
        payloadBytes: rounds.payloadBytes,
        consumerMaxWaitMs: FLOOR_CONSUMER_MAX_WAIT_MS,
        chainMessages: CHAIN_MESSAGES,
      },
      metrics: [
        { name: FLOOR_METRICS.kafkaP50, unit: 'ms', value: e2e.p50, lowerIsBetter: true },
        { name: FLOOR_METRICS.kafkaP99, unit: 'ms', value: e2e.p99, lowerIsBetter: true },
        { name: FLOOR_METRICS.kafkaAckedP50, unit: 'ms', value: ack.p50, lowerIsBetter: true },
        {
          name: FLOOR_METRICS.chainP50,
          unit: 'ms',
          value: chain.p50,
          lowerIsBetter: true,
        },
        {
          name: FLOOR_METRICS.chainP99,
          unit: 'ms',
          value: chain.p99,
          lowerIsBetter: true,
        },
        { name: FLOOR_METRICS.splitChainP50, unit: 'ms', value: split.p50, lowerIsBetter: true },
      ],
      samples: { 'Kafka produce → consume': thin(endToEnd) },
    });
  } finally {
    await rounds.close();
    await admin.disconnect();
    await infra.stop();
  }
}

const CHAIN_MESSAGES = sized({ full: 200, quick: 100, tiny: 10 });

/**
 * The Kafka steps between a publish request and its feed entry being readable, in bare
 * kafkajs with the settings of the apps and nothing else: a command produced (acks=all),
 * read by a `read_committed` consumer (the decider's), one transaction with the event,
 * the feed entry and the command's offset (the decision, carrying the feed as it does by
 * default), read by a `read_committed` consumer (the projector's). With `feedInDecision`
 * false, the feed entry goes in a second transaction after the decision, on a producer of
 * its own (the sequencer's), as with COMMAND_FEED_IN_DECISION=false. No HTTP, no
 * deciding, no Redis, no fan-out: the end-to-end row spends at least this before its
 * gateway can emit anything. One message at a time; ms each.
 */
async function transactionalChain(
  kafka: Kafka,
  admin: Admin,
  base: string,
  body: string,
  { feedInDecision }: { feedInDecision: boolean },
): Promise<number[]> {
  const commands = `${base}-commands`;
  const events = `${base}-events`;
  const feed = `${base}-feed`;
  await createScratchTopics(admin, [commands, events, feed]);
  const intake = createProducer(kafka);
  const writer = createProducer(kafka, { transactionalId: `${base}-writer` });
  // The feed on a producer of its own: right after a commit the same transactional id is
  // answered CONCURRENT_TRANSACTIONS while the coordinator writes its markers, and
  // kafkajs's retrier waits 200 ms or more (bench/PROFILE.md); a floor leaves that out.
  const sequencer = createProducer(kafka, { transactionalId: `${base}-sequencer` });
  const decider = kafka.consumer({ groupId: `${base}.decider`, readUncommitted: false, maxWaitTimeInMs: 50 });
  const projector = kafka.consumer({ groupId: `${base}.projector`, readUncommitted: false, maxWaitTimeInMs: 50 });
  const waiting = new Map<string, (at: bigint) => void>();
  const joined = (consumer: Consumer) =>
    new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  try {
    await Promise.all([
      intake.connect(),
      writer.connect(),
      sequencer.connect(),
      decider.connect(),
      projector.connect(),
    ]);
    await decider.subscribe({ topic: commands, fromBeginning: true });
    await projector.subscribe({ topic: feed, fromBeginning: true });
    const ready = Promise.all([joined(decider), joined(projector)]);
    await decider.run({
      eachMessage: async ({ partition, message }) => {
        const decision = await writer.transaction();
        const entry = { key: message.key, value: message.value, partition };
        await decision.sendBatch({
          topicMessages: [
            { topic: events, messages: [entry] },
            ...(feedInDecision ? [{ topic: feed, messages: [entry] }] : []),
          ],
        });
        await decision.sendOffsets({
          consumerGroupId: `${base}.decider`,
          topics: [{ topic: commands, partitions: [{ partition, offset: String(Number(message.offset) + 1) }] }],
        });
        await decision.commit();
        if (feedInDecision) return;
        const sequenced = await sequencer.transaction();
        await sequenced.send({ topic: feed, messages: [entry] });
        await sequenced.commit();
      },
    });
    await projector.run({
      eachMessage: async ({ message }) => waiting.get(message.key!.toString())?.(process.hrtime.bigint()),
    });
    await ready;
    const latencies: number[] = [];
    for (let i = -10; i < CHAIN_MESSAGES; i++) {
      // The first 10 warm up connections, coordinators and metadata; they are not counted.
      const key = String(i);
      const seen = new Promise<bigint>((resolve) => waiting.set(key, resolve));
      const t0 = process.hrtime.bigint();
      await intake.send({ topic: commands, acks: ACKS_ALL, messages: [{ key, value: body }] });
      const t1 = await seen;
      waiting.delete(key);
      if (i >= 0) latencies.push(Number(t1 - t0) / 1e6);
    }
    return latencies;
  } finally {
    await Promise.all([decider, projector].map((c) => c.disconnect().catch(() => undefined)));
    await Promise.all([intake, writer, sequencer].map((p) => p.disconnect().catch(() => undefined)));
    await admin.deleteTopics({ topics: [commands, events, feed] }).catch(() => undefined);
  }
}

runMain(main);
