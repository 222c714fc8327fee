import { Command } from 'commander';
import { redactCredentials, TOPIC_ROLES } from '@lastmeter/contracts';
import { createProducer } from '@lastmeter/kafka';
import {
  currentGeneration,
  payloadOf,
  Projection,
  readDlq,
  RedisKeys,
  sendDeadLetters,
  unresolved,
} from '@lastmeter/read-models';
import { connectDeployment } from '../endpoints';
import { color, info, UserFacingError } from '../output';

/** `lastmeter dlq list | retry`: what the projector could not apply, and applying it again. */
export function dlqCommand(): Command {
  const dlq = new Command('dlq').description('events the projector could not apply (lastmeter.dlq.v1)');

  dlq
    .command('list')
    .description('unresolved dead letters, oldest first')
    .option('--json', 'one JSON object per line')
    .action(async (options: { json?: boolean }) => {
      const deployment = await connectDeployment('dlq');
      try {
        const letters = unresolved(await readDlq(deployment.kafka, deployment.topics));
        for (const { record } of letters) {
          if (options.json) {
            // Dead letters keep the original bytes; a v1 event's hash is not shown.
            process.stdout.write(`${redactCredentials(JSON.stringify(record))}\n`);
          } else {
            const { source } = record;
            process.stdout.write(
              `${record.id}  ${record.failedAt}  ${source.topic}[${source.partition}]@${source.offset}\n    ${color.red(record.error)}\n`,
            );
          }
        }
        if (!options.json) info(`${letters.length} unresolved dead letter(s)`);
      } finally {
        await deployment.close();
      }
    });

  dlq
    .command('retry')
    .description('apply dead letters to the serving read models again; those that apply are resolved')
    .argument('[ids...]', 'dead letter ids (see `dlq list`)')
    .option('--all', 'every unresolved dead letter')
    .action(async (ids: string[], options: { all?: boolean }) => {
      if (!options.all && ids.length === 0) throw new UserFacingError('name dead letter ids, or pass --all');
      const deployment = await connectDeployment('dlq');
      const { kafka, redis, topics, keyPrefix } = deployment;
      const producer = createProducer(kafka);
      try {
        const letters = unresolved(await readDlq(kafka, topics));
        const chosen = options.all ? letters : letters.filter(({ record }) => ids.includes(record.id));
        const unknown = ids.filter((id) => !letters.some(({ record }) => record.id === id));
        if (unknown.length > 0) throw new UserFacingError(`no unresolved dead letter ${unknown.join(', ')}`);
        const projection = new Projection(redis, new RedisKeys(keyPrefix, await currentGeneration(redis, keyPrefix)));
        await producer.connect();
        let resolved = 0;
        for (const { key, record } of chosen) {
          const role = TOPIC_ROLES.find((r) => topics[r] === record.source.topic);
          if (!role) {
            info(color.yellow(`${record.id}: source topic ${record.source.topic} is not a projected topic; skipped`));
            continue;
          }
          const { source } = record;
          const result = await projection.apply([
            { topic: role, partition: source.partition, offset: source.offset, key, value: payloadOf(record) },
          ]);
          if (result.failed.length > 0) {
            process.stdout.write(`${record.id}  ${color.red('still fails')}: ${result.failed[0].error}\n`);
            continue;
          }
          await sendDeadLetters(producer, topics, [
            { key, record: { kind: 'resolved', resolves: record.id, resolvedAt: new Date().toISOString() } },
          ]);
          resolved++;
          process.stdout.write(`${record.id}  ${color.green('applied')}\n`);
        }
        info(`${resolved} of ${chosen.length} dead letter(s) applied and resolved`);
        if (resolved < chosen.length) process.exitCode = 2;
      } finally {
        await producer.disconnect().catch(() => undefined);
        await deployment.close();
      }
    });

  return dlq;
}
