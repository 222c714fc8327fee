import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeCluster } from '@lastmeter/kafka';
import { infraAsset } from './paths';
import { requireJava } from './prerequisites';
import { spawnDaemon, stopProcess, waitUntil } from './processes';

export interface BrokerLayout {
  port: number;
  controllerPort: number;
  dataDir: string;
  /** In a cluster (LocalKafkaCluster): this node's id and the controller ports of all, by id from 1. */
  cluster?: { nodeId: number; controllerPorts: number[] };
}

/**
 * A KRaft combined broker + controller. Alone: node 1, everything replicated once. In a
 * cluster of three or more: every node a voter of the controller quorum, topics and the
 * internal ones replicated three times with `min.insync.replicas=2` (with acks=all a
 * write survives any one broker).
 */
export function serverProperties({ port, controllerPort, dataDir, cluster }: BrokerLayout): string {
  const nodeId = cluster?.nodeId ?? 1;
  const voters = (cluster?.controllerPorts ?? [controllerPort]).map((p, i) => `${i + 1}@127.0.0.1:${p}`).join(',');
  const replicas = Math.min(cluster?.controllerPorts.length ?? 1, 3);
  const minIsr = replicas >= 3 ? 2 : 1;
  return [
    '# Written by lastmeter (libs/infra/src/kafka-broker.ts) on every start.',
    'process.roles=broker,controller',
    `node.id=${nodeId}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${join(dataDir, 'logs')}`,
    'num.partitions=1',
    `default.replication.factor=${replicas}`,
    `min.insync.replicas=${minIsr}`,
    `offsets.topic.replication.factor=${replicas}`,
    // Fewer internal partitions than the defaults (50): a laptop broker starts faster.
    'offsets.topic.num.partitions=12',
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${minIsr}`,
    'transaction.state.log.num.partitions=12',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'num.network.threads=2',
    'num.io.threads=4',
    'log.retention.check.interval.ms=300000',
    'log.cleaner.threads=1',
    '',
  ].join('\n');
}

/** Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding. */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export interface LocalKafkaOptions extends BrokerLayout {
  jarsDir: string;
  logDir: string;
  heapMb?: number;
  env?: NodeJS.ProcessEnv;
  /** Leave the broker running after this process exits (`lastmeter infra up`). */
  keepAfterExit?: boolean;
  /** The cluster id to format with (every node of a cluster shares one); default: `<dataDir>/cluster.id`. */
  clusterId?: string;
}

/** One local Kafka broker: format once, start, wait until a client sees it, stop. */
export class LocalKafka {
  private child?: ChildProcess;
  private exited?: string;

  constructor(private readonly options: LocalKafkaOptions) {}

  get brokers(): string {
    return `127.0.0.1:${this.options.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get ports(): { port: number; controllerPort: number } {
    return { port: this.options.port, controllerPort: this.options.controllerPort };
  }

  get logFile(): string {
    return join(this.options.logDir, 'server.log');
  }

  /** `listener` runs once, when the process running now exits (ServiceKeeper). */
  onExit(listener: (reason: string) => void): void {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return listener(this.exited ?? 'not running');
    child.once('exit', () => listener(this.exited!));
  }

  /** `signal`: aborting it stops waiting (and starts nothing if not started yet). */
  async start(timeoutMs = 90_000, signal?: AbortSignal): Promise<void> {
    const java = requireJava(this.options.env);
    const { dataDir, logDir, jarsDir } = this.options;
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(logDir, { recursive: true });
    const propertiesFile = join(dataDir, 'server.properties');
    writeFileSync(propertiesFile, serverProperties(this.options));
    const classpath = join(jarsDir, '*');
    const jvm = [
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${infraAsset('log4j.properties')}`,
      `-Dkafka.logs.dir=${logDir}`,
      '-cp',
      classpath,
    ];

    if (!existsSync(join(dataDir, 'logs', 'meta.properties'))) {
      const clusterIdFile = join(dataDir, 'cluster.id');
      if (!existsSync(clusterIdFile)) writeFileSync(clusterIdFile, this.options.clusterId ?? newClusterId());
      const clusterId = readFileSync(clusterIdFile, 'utf8').trim();
      const format = spawnSync(
        java,
        [
          '-Xmx256m',
          ...jvm,
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterId,
          '-c',
          propertiesFile,
          '--ignore-formatted',
        ],
        { encoding: 'utf8', env: this.options.env },
      );
      if (format.status !== 0)
        throw new Error(`Kafka storage format failed: ${(format.stderr || format.stdout).trim()}`);
    }

    const heap = this.options.heapMb ?? 512;
    signal?.throwIfAborted();
    this.exited = undefined;
    const child = spawnDaemon(
      java,
      [
        `-Xms${Math.min(heap, 256)}m`,
        `-Xmx${heap}m`,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:+ExitOnOutOfMemoryError',
        ...jvm,
        'kafka.Kafka',
        propertiesFile,
      ],
      { logFile: join(logDir, 'kafka.out'), env: this.options.env, keepAfterExit: this.options.keepAfterExit },
    );
    this.child = child;
    child.once('exit', (code, signal) => {
      this.exited = `broker exited (${signal ?? `code ${code}`}); see ${this.logFile}`;
    });
    await waitUntil(`Kafka on ${this.brokers}`, async () => (await probeCluster([this.brokers], 2_000)).brokers > 0, {
      timeoutMs,
      intervalMs: 500,
      failed: () => (signal?.aborted ? 'start-up cancelled' : this.exited),
    });
  }

  /** Controlled shutdown (SIGTERM), SIGKILL if it takes longer than 30 s. */
  async stop(): Promise<void> {
    await stopProcess(this.child?.pid, 30_000);
    this.child = undefined;
  }

  /** For failure tests: kill without any shutdown. */
  async kill(): Promise<void> {
    const pid = this.child?.pid;
    if (pid) process.kill(pid, 'SIGKILL');
    await stopProcess(pid, 0);
    this.child = undefined;
  }
}
