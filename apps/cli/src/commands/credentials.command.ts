import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { parseEnvelope, TOPICS } from '@lastmeter/contracts';
import { ACKS_ALL, createProducer, ensureTopics, type Kafka } from '@lastmeter/kafka';
import { loadSpec, sharedEnv } from '@lastmeter/config';
import { planCredentialMigration, type LoggedEvent } from '../credentials-migration';
import { connectDeployment } from '../endpoints';
import { info } from '../output';

/** Every committed message of a topic up to its current end, then the reader's group is deleted. */
async function readWhole(
  kafka: Kafka,
  topic: string,
  onMessage: (partition: number, key: string, value: Buffer | null) => void,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${topic}.migrate.${randomUUID()}`;
  try {
    const ends = new Map(
      (await admin.fetchTopicOffsets(topic))
        .filter(({ offset, low }) => offset !== low)
        .map(({ partition, offset }) => [partition, BigInt(offset)]),
    );
    if (ends.size === 0) return;
    const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          if (BigInt(payload.lastOffset) + 1n >= (ends.get(payload.partition) ?? 0n)) ends.delete(payload.partition);
          if (ends.size === 0) resolve();
        });
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) =>
              onMessage(partition, message.key?.toString() ?? '', message.value),
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    await admin.deleteGroups([groupId]).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/**
 * `lastmeter credentials migrate`: copies the password and enrollment-code hashes that
 * events written before schema v2 carried into lastmeter.credentials.v1, where the
 * command service reads them (docs/security.md). Read paths never hand the old fields
 * out (the upcasters drop them); this makes the accounts work again after the upgrade.
 */
export function credentialsCommand(): Command {
  const credentials = new Command('credentials').description('the credentials store (lastmeter.credentials.v1)');
  credentials
    .command('migrate')
    .description('move password and enrollment-code hashes from old events to the credentials topic (idempotent)')
    .action(async () => {
      const deployment = await connectDeployment('credentials');
      try {
        const { kafka, topics } = deployment;
        const { KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR } = loadSpec({
          KAFKA_PARTITIONS: sharedEnv.KAFKA_PARTITIONS,
          KAFKA_REPLICATION_FACTOR: sharedEnv.KAFKA_REPLICATION_FACTOR,
        });
        const admin = kafka.admin();
        await admin.connect();
        await ensureTopics(admin, topics, {
          partitions: KAFKA_PARTITIONS,
          replicationFactor: KAFKA_REPLICATION_FACTOR,
        });
        await admin.disconnect();

        const log: LoggedEvent[] = [];
        await readWhole(kafka, topics.events, (partition, _key, value) => {
          try {
            const event = parseEnvelope(value?.toString('utf8') ?? 'null');
            if (event.schemaVersion === 1 || event.type.startsWith('terminal.') || event.type.startsWith('user.')) {
              log.push({ partition, event });
            }
          } catch {
            // Not an event this tool is about; the projector's DLQ reports malformed ones.
          }
        });
        const existing = new Set<string>();
        await readWhole(kafka, topics.credentials, (_partition, key, value) => {
          if (value) existing.add(key);
          else existing.delete(key);
        });

        const plan = planCredentialMigration(log, existing);
        if (plan.writes.length > 0) {
          const producer = createProducer(kafka);
          await producer.connect();
          try {
            await producer.send({
              topic: topics.credentials,
              acks: ACKS_ALL,
              messages: plan.writes.map(({ id, partition, record }) => ({
                key: id,
                partition,
                value: record ? JSON.stringify(record) : null,
              })),
            });
          } finally {
            await producer.disconnect();
          }
        }
        info(
          `${plan.writes.length} credential(s) moved to ${TOPICS.credentials.name}, ${plan.skipped} legacy hash(es) needed nothing`,
        );
        if (plan.writes.length > 0) {
          info(
            'the old hashes stay in the bytes of the events topic (a delete-policy topic cannot drop single records), ' +
              'but no read path returns them; reset those users’ passwords to make the old hashes worthless',
          );
        }
      } finally {
        await deployment.close();
      }
    });
  return credentials;
}
