/**
 * The baseline of `receipt-ingest`, in a process of its own (forked with IPC): a bare
 * kafkajs producer with the gateway fact writer's settings (idempotent, acks=all, the
 * project's partitioner) writing `total` messages of the gateway's size, keyed by store
 * id, in sends of `batch` messages with at most `inFlight` sends at once: what Kafka
 * gives this machine for the same messages and the same batching, with nothing else
 * (no sockets, no validation, no Redis).
 */
import { randomUUID } from 'node:crypto';
import { storeActivityEvent } from '@lastmeter/contracts';
import { ACKS_ALL, createKafkaClient, createProducer } from '@lastmeter/kafka';
import { forEachConcurrently } from './concurrently';

export interface ProduceCommand {
  type: 'produce';
  brokers: string;
  topic: string;
  total: number;
  batch: number;
  inFlight: number;
  storeIds: string[];
}

export interface ProduceReply {
  type: 'produced';
  sent: number;
  seconds: number;
  /** Latency of each send (ms). */
  latencies: number[];
  /** This process's CPU (user + system) during the timed sends, seconds. */
  cpuSeconds: number;
}

/** Receipt events as the gateway writes them (same envelope, same sizes), cycled. */
function sampleMessages(storeIds: string[], n: number) {
  return Array.from({ length: n }, (_, i) => {
    const id = randomUUID();
    const storeId = storeIds[i % storeIds.length];
    const terminalId = `bench-terminal-${i}`;
    const event = storeActivityEvent(
      'receipt.read',
      id,
      { id: terminalId, role: 'terminal', storeId },
      { storeId, terminalId, communicationId: randomUUID(), revision: 1 },
    );
    return { key: storeId, value: JSON.stringify(event), headers: { type: event.type } };
  });
}

async function produce(command: ProduceCommand): Promise<ProduceReply> {
  const kafka = createKafkaClient({ brokers: command.brokers.split(','), clientId: 'bench-bare-facts' });
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    const samples = sampleMessages(command.storeIds, 10_000);
    const batches = Math.ceil(command.total / command.batch);
    const send = async (b: number) => {
      const from = b * command.batch;
      const messages = Array.from(
        { length: Math.min(command.batch, command.total - from) },
        (_, i) => samples[(from + i) % samples.length],
      );
      await producer.send({ topic: command.topic, acks: ACKS_ALL, messages });
    };
    // Warm-up: connections, metadata, the producer id.
    for (let b = 0; b < 5; b++) await send(b);
    const latencies: number[] = [];
    const cpu0 = process.cpuUsage();
    const started = process.hrtime.bigint();
    await forEachConcurrently(batches, command.inFlight, async (b) => {
      const t0 = process.hrtime.bigint();
      await send(b);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    return { type: 'produced', sent: command.total, seconds, latencies, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    await producer.disconnect();
  }
}

process.on('disconnect', () => process.exit(0));
process.on('message', (command: ProduceCommand) => {
  produce(command).then(
    (reply) => process.send!(reply),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
