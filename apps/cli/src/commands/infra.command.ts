import { Command } from 'commander';
import { ClusterInfra, lastmeterHome, LocalInfra, type ClusterStatus, type ServiceStatus } from '@lastmeter/infra';
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

function describeCluster(status: ClusterStatus): string {
  const line = (name: string, p: { address: string; pid?: number; alive: boolean; reachable: boolean }) =>
    `  ${name.padEnd(9)} ${p.address}  ${p.alive ? `pid ${p.pid}  ${p.reachable ? color.green('ready') : color.yellow('not answering')}` : color.dim('stopped')}`;
  return [
    `cluster   ${status.running ? 'running' : color.dim('stopped')}   data ${status.dataDir}`,
    ...status.kafka.map((p, i) => line(`kafka-${i + 1}`, p)),
    ...status.redis.map((p, i) => line(`redis-${i + 1}`, p)),
    ...status.sentinels.map((p, i) => line(`sentinel-${i + 1}`, p)),
    ...(status.master ? [`  master    ${status.master} (as the Sentinels see it)`] : []),
    ...(status.endpoints
      ? [`  KAFKA_BROKERS=${status.endpoints.kafkaBrokers}`, `  REDIS_URL=${status.endpoints.redisUrl}`]
      : []),
  ].join('\n');
}

function profileOf(value: string): 'single' | 'cluster' {
  if (value !== 'single' && value !== 'cluster')
    throw new UserFacingError(`--profile is single or cluster, not "${value}"`);
  return value;
}

export function infraCommand(): Command {
  const infra = new Command('infra').description('local Kafka and Redis (no Docker needed)');

  infra
    .command('up')
    .description('start Kafka and Redis in the background (reuses running ones)')
    .option(
      '--profile <profile>',
      'single (one broker, one Redis) or cluster (3 brokers, Redis with a replica and 3 Sentinels)',
      'single',
    )
    .action(async (options: { profile: string }) => {
      if (profileOf(options.profile) === 'cluster') {
        const cluster = new ClusterInfra({ home: lastmeterHome(), log: info });
        const { kafkaBrokers, redisUrl } = await cluster.up();
        // Topics replicated three times on three brokers (min.insync.replicas 2 from the brokers).
        process.env.KAFKA_REPLICATION_FACTOR ??= '3';
        await ensureTopicsFromEnv(kafkaBrokers, info);
        process.stdout.write(
          `KAFKA_BROKERS=${kafkaBrokers}\nREDIS_URL=${redisUrl}\nKAFKA_REPLICATION_FACTOR=${process.env.KAFKA_REPLICATION_FACTOR}\n`,
        );
        return;
      }
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
      const cluster = await new ClusterInfra({ home: lastmeterHome(), log: info }).down();
      if (!stopped.kafka && !stopped.redis && !cluster) info('nothing was running');
    });

  infra
    .command('status')
    .description('what runs where')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const status = await new LocalInfra({ home: lastmeterHome() }).status();
      const clusterInfra = new ClusterInfra({ home: lastmeterHome() });
      const cluster = clusterInfra.readState() ? await clusterInfra.status() : undefined;
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ ...status, ...(cluster ? { cluster } : {}) }, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `home   ${status.home}\n${describe('kafka', status.kafka)}\n${describe('redis', status.redis)}\n` +
          (cluster ? `${describeCluster(cluster)}\n` : ''),
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
      await new ClusterInfra({ home: lastmeterHome(), log: info }).reset();
      info('local data deleted');
    });

  return infra;
}
