import { Command } from 'commander';
import { parseEnvelope, TOPICS } from '@lastmeter/contracts';
import { ACKS_ALL, createProducer, ensureTopics, readWholeTopic } from '@lastmeter/kafka';
import { loadSpec, sharedEnv } from '@lastmeter/config';
import { planCredentialMigration, type LoggedEvent } from '../credentials-migration';
import { connectDeployment } from '../endpoints';
import { info } from '../output';

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
        for (const { partition, value } of await readWholeTopic(kafka, topics.events)) {
          try {
            const event = parseEnvelope(value?.toString('utf8') ?? 'null');
            if (event.type.startsWith('terminal.') || event.type.startsWith('user.')) log.push({ partition, event });
          } catch {
            // Not an event this tool is about; the projector's DLQ reports malformed ones.
          }
        }
        const existing = new Set<string>();
        for (const { key, value } of await readWholeTopic(kafka, topics.credentials)) {
          if (value) existing.add(key?.toString() ?? '');
          else existing.delete(key?.toString() ?? '');
        }

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
