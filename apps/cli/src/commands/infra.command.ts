import { Command } from 'commander';
import { lastmeterHome, LocalInfra, type ServiceStatus } from '@lastmeter/infra';
import { ensureTopicsFromEnv } from '@lastmeter/kafka';
import { color, info, UserFacingError } from '../output';

function describe(name: string, status: ServiceStatus): string {
  switch (status.kind) {
    case 'external':
      return `${name.padEnd(6)} external  ${status.address}  ${status.reachable ? color.green('reachable') : color.red('unreachable')}`;
    case 'local':
      return `${name.padEnd(6)} running   ${status.address}  pid ${status.pid}  ${status.reachable ? color.green('ready') : color.yellow('not answering')}  data ${status.dataDir}  log ${status.logFile}`;
    case 'stopped':
      return `${name.padEnd(6)} ${color.dim('stopped')}   data ${status.dataDir}`;
  }
}

export function infraCommand(): Command {
  const infra = new Command('infra').description('local Kafka and Redis (no Docker needed)');

  infra
    .command('up')
    .description('start Kafka and Redis in the background (reuses running ones)')
    .action(async () => {
      const local = new LocalInfra({ home: lastmeterHome(), keepAfterExit: true, redisAppendOnly: true, log: info });
      const { kafkaBrokers, redisUrl } = await local.up();
      await ensureTopicsFromEnv(kafkaBrokers, info);
      process.stdout.write(`KAFKA_BROKERS=${kafkaBrokers}\nREDIS_URL=${redisUrl}\n`);
    });

  infra
    .command('down')
    .description('stop the Kafka and Redis that `infra up` or `start` recorded')
    .action(async () => {
      const stopped = await new LocalInfra({ home: lastmeterHome(), log: info }).down();
      if (!stopped.kafka && !stopped.redis) info('nothing was running');
    });

  infra
    .command('status')
    .description('what runs where')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const status = await new LocalInfra({ home: lastmeterHome() }).status();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `home   ${status.home}\n${describe('kafka', status.kafka)}\n${describe('redis', status.redis)}\n`,
      );
    });

  infra
    .command('reset')
    .description('stop Kafka and Redis and delete their data (the jar cache stays)')
    .option('-y, --yes', 'do not ask')
    .action(async (options: { yes?: boolean }) => {
      if (!options.yes)
        throw new UserFacingError(
          'reset deletes every event and read model under .lastmeter/data; run again with --yes',
        );
      await new LocalInfra({ home: lastmeterHome(), log: info }).reset();
      info('local data deleted');
    });

  return infra;
}
