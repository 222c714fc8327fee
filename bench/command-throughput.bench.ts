/**
 * Accepted commands per second and latency through the whole write path (HTTP →
 * commands topic → decider → transactional append → reply), against a bare kafkajs
 * idempotent producer writing the same number of same-sized messages in the same run.
 */
import { cpus } from 'node:os';
import { topicNames } from '@lastmeter/contracts';
import { ACKS_ALL, createKafkaClient, createProducer } from '@lastmeter/kafka';
import { sized } from './lib/results';
import { startStack } from './lib/stack';
import { benchInfra, measure, runMain, writeResults } from './support';

const TOTAL = Number(process.env.BENCH_COMMANDS ?? sized({ full: 2_000, quick: 500, tiny: 50 }));
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);

async function main(): Promise<void> {
  const infra = await benchInfra();
  const stack = await startStack(infra, ['command']);
  const names = topicNames(stack.prefix);
  const token = stack.token('hq-editor');
  const body = (i: number) =>
    JSON.stringify({
      kind: 'notice',
      title: `Bench notice ${i}`,
      body: 'Check the fridge temperatures twice a day.',
      audience: { all: true },
    });

  try {
    const draft = async (i: number) => {
      const response = await fetch(`${stack.urls.command}/v1/communications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: body(i),
      });
      if (response.status !== 201) throw new Error(`draft ${i}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    };
    await measure('warm-up', 200, CLIENTS, draft);
    const commands = await measure(`POST /v1/communications (${CLIENTS} clients)`, TOTAL, CLIENTS, draft);

    // Baseline: what Kafka alone gives for the same messages with the same durability.
    const producer = createProducer(createKafkaClient({ brokers: [infra.brokers], clientId: 'bench-baseline' }));
    await producer.connect();
    const send = async (i: number) => {
      await producer.send({ topic: names.dlq, acks: ACKS_ALL, messages: [{ key: `k${i}`, value: body(i) }] });
    };
    await measure('baseline warm-up', 200, CLIENTS, send);
    const baseline = await measure(`bare kafkajs producer send, acks=all (${CLIENTS} senders)`, TOTAL, CLIENTS, send);
    await producer.disconnect();

    writeResults(
      'command-throughput',
      {
        machine: `${cpus().length} cores`,
        kafka: infra.brokers,
        commands: TOTAL,
        clients: CLIENTS,
        'write path / baseline throughput': Number((commands.perSecond / baseline.perSecond).toFixed(3)),
      },
      [commands, baseline],
      {
        title: 'Command throughput: accepted commands per second through the write path',
        metrics: [
          {
            name: `accepted commands (${CLIENTS} clients)`,
            unit: '/s',
            value: commands.perSecond,
            baseline: baseline.perSecond,
            baselineName: 'bare kafkajs acks=all producer',
            lowerIsBetter: false,
          },
          { name: 'command latency p50', unit: 'ms', value: commands.p50ms, lowerIsBetter: true },
          { name: 'command latency p99', unit: 'ms', value: commands.p99ms, lowerIsBetter: true },
        ],
      },
    );
  } finally {
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
