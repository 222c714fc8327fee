/** Shared by the receipt benchmarks: the reach board's delay and the bare Kafka baseline. */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { RECEIPT_KINDS, type ReachReport } from '@lastmeter/contracts';
import { createKafkaClient } from '@lastmeter/kafka';
import type { ProduceCommand, ProduceReply } from './bare-fact-producer';
import { msSince } from './fleet';
import type { Stack } from './stack';
import { createScratchTopics } from './topics';

/**
 * Polls the reach board until every terminal is counted at every step of `ids`: ms after
 * `lastAck`, or undefined (with what is missing) when it is not exact within 60 s.
 */
export async function reachExactAfter(
  stack: Stack,
  ids: string[],
  terminals: number,
  lastAck: bigint,
): Promise<{ ms?: number; missing: string[] }> {
  const pending = new Map(ids.map((id) => [id, '']));
  const deadline = Date.now() + 60_000;
  while (pending.size > 0 && Date.now() < deadline) {
    for (const id of [...pending.keys()]) {
      const reach = await stack.read<ReachReport>(`/communications/${id}/reach`);
      if (RECEIPT_KINDS.every((step) => reach[step].terminals === terminals)) pending.delete(id);
      else pending.set(id, RECEIPT_KINDS.map((step) => `${step} ${reach[step].terminals}`).join(', '));
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const missing = [...pending].map(([id, counts]) => `${id}: ${counts}`);
  return pending.size === 0 ? { ms: msSince(lastAck, process.hrtime.bigint()), missing } : { missing };
}

export /**
 * The baseline: a bare kafkajs producer (own process) writing `total` messages of the
 * gateway's size in sends of `batch`, one send at a time like the gateway's writer.
 */
async function bareFactBaseline(
  brokers: string,
  storeIds: string[],
  total: number,
  batch: number,
): Promise<ProduceReply> {
  const kafka = createKafkaClient({ brokers: [brokers], clientId: 'bench-ingest-admin' });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `bench-ingest-${randomBytes(3).toString('hex')}`;
  await createScratchTopics(admin, [topic]);
  const child = fork(join(__dirname, 'bare-fact-producer.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    return await new Promise<ProduceReply>((resolve, reject) => {
      child.once('message', (reply: ProduceReply) => resolve(reply));
      child.once('exit', (code) => reject(new Error(`bare producer exited (${code})`)));
      child.send({
        type: 'produce',
        brokers,
        topic,
        total,
        batch,
        inFlight: 1, // the gateway's fact writer: one send at a time (BatchProducer)
        storeIds,
      } satisfies ProduceCommand);
    });
  } finally {
    child.kill();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}
