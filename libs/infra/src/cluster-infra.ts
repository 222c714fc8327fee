import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeCluster } from '@lastmeter/kafka';
import { ensureKafkaJars, kafkaJarsCached } from './kafka-jars';
import { LocalKafkaCluster } from './kafka-cluster';
import type { LastmeterHome } from './paths';
import { requireJava, requireMaven, requireRedisServer } from './prerequisites';
import { isAlive, stopProcess } from './processes';
import { LocalRedisSentinelSet, SENTINEL_MASTER, sentinelMasterPort } from './redis-sentinel';
import { pingRedis } from './redis-server';
import { ServiceKeeper } from './service-keeper';

/** `.lastmeter/run/cluster.json`: what `infra up --profile cluster` started. */
export interface ClusterState {
  kafka: Array<{ pid?: number; port: number; controllerPort: number }>;
  redis: Array<{ pid?: number; port: number }>;
  sentinels: Array<{ pid?: number; port: number }>;
  startedAt: string;
}

export interface ClusterEndpoints {
  kafkaBrokers: string;
  redisUrl: string;
}

export interface ClusterStatus {
  running: boolean;
  kafka: Array<{ address: string; pid?: number; alive: boolean; reachable: boolean }>;
  redis: Array<{ address: string; pid?: number; alive: boolean; reachable: boolean }>;
  sentinels: Array<{ address: string; pid?: number; alive: boolean; reachable: boolean }>;
  /** The master's address as the Sentinels report it. */
  master?: string;
  endpoints?: ClusterEndpoints;
  dataDir: string;
}

/**
 * The infrastructure of the cluster profile (issue 18): three KRaft brokers (replication
 * factor 3, min ISR 2) and a Redis master with a replica and three Sentinels (ADR 0006),
 * on loopback, left running in the background like `infra up`. Data under
 * `.lastmeter/data/cluster/`; the single-node profile's data is untouched.
 */
export class ClusterInfra {
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: (line: string) => void;
  /** What this instance's up() started (none when it found the cluster running). */
  private started?: { kafka: LocalKafkaCluster; redis: LocalRedisSentinelSet };
  private readonly keeping = new AbortController();
  private readonly keepers: ServiceKeeper[] = [];

  constructor(
    private readonly options: { home: LastmeterHome; env?: NodeJS.ProcessEnv; log?: (line: string) => void },
  ) {
    this.env = options.env ?? process.env;
    this.log = options.log ?? (() => undefined);
  }

  private get stateFile(): string {
    return join(this.options.home.run, 'cluster.json');
  }

  private get dataDir(): string {
    return join(this.options.home.root, 'data', 'cluster');
  }

  readState(): ClusterState | undefined {
    return existsSync(this.stateFile) ? (JSON.parse(readFileSync(this.stateFile, 'utf8')) as ClusterState) : undefined;
  }

  private writeState(state: ClusterState): void {
    mkdirSync(this.options.home.run, { recursive: true });
    writeFileSync(this.stateFile, `${JSON.stringify(state, null, 2)}\n`);
  }

  static endpointsOf(state: ClusterState): ClusterEndpoints {
    return {
      kafkaBrokers: state.kafka.map((node) => `127.0.0.1:${node.port}`).join(','),
      redisUrl: `redis+sentinel://${state.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${SENTINEL_MASTER}`,
    };
  }

  /** Starts the cluster unless every process of it still runs; its endpoints. */
  async up(): Promise<ClusterEndpoints & { started: boolean }> {
    requireJava(this.env);
    if (!kafkaJarsCached(this.options.home.kafkaJars)) requireMaven(this.env);
    requireRedisServer(this.env);
    const before = this.readState();
    const pids = before ? [...before.kafka, ...before.redis, ...before.sentinels].map((p) => p.pid) : [];
    if (before && pids.every(isAlive)) {
      this.log('cluster already running');
      return { ...ClusterInfra.endpointsOf(before), started: false };
    }
    if (before) await this.down(); // part of it died: start it whole again
    const jars = await ensureKafkaJars(this.options.home.kafkaJars, { env: this.env, onProgress: this.log });
    const logs = join(this.options.home.logs, 'cluster');
    const kafkaOptions = {
      dataDir: join(this.dataDir, 'kafka'),
      logDir: join(logs, 'kafka'),
      jarsDir: jars.libs,
      env: this.env,
      keepAfterExit: true,
    };
    const redisOptions = {
      dataDir: join(this.dataDir, 'redis'),
      logDir: join(logs, 'redis'),
      appendOnly: true,
      env: this.env,
      keepAfterExit: true,
    };
    this.log(`starting 3 Kafka ${jars.version} brokers and Redis with a replica and 3 Sentinels`);
    // A first start takes fresh ports (retried if one is taken meanwhile); a restart the same ones.
    const [kafka, redis] = before
      ? await Promise.all([
          LocalKafkaCluster.create({ ...kafkaOptions, ports: before.kafka }),
          LocalRedisSentinelSet.create({
            ...redisOptions,
            ports: { servers: before.redis.map((r) => r.port), sentinels: before.sentinels.map((s) => s.port) },
          }),
        ])
      : await bothOrNeither(LocalKafkaCluster.startNew(kafkaOptions), LocalRedisSentinelSet.startNew(redisOptions));
    if (before) {
      try {
        await Promise.all([kafka.start(), redis.start()]);
      } catch (error) {
        await Promise.all([kafka.stop(), redis.stop()]);
        throw error;
      }
    }
    const state: ClusterState = {
      kafka: kafka.nodes.map((node) => {
        return { pid: node.pid, ...node.ports };
      }),
      redis: redis.servers.map((server) => ({ pid: server.pid, port: Number(new URL(server.url).port) })),
      sentinels: redis.sentinelPorts.map((port, i) => ({ pid: redis.sentinelPids[i], port })),
      startedAt: new Date().toISOString(),
    };
    this.writeState(state);
    this.started = { kafka, redis };
    return { ...ClusterInfra.endpointsOf(state), started: true };
  }

  /**
   * From now on, each broker and Redis server this instance started is restarted when it
   * dies (ServiceKeeper, as under `npm start`), until down(). The Sentinels are not: the
   * quorum of three outlives one. `gaveUp` hears of one that keeps failing.
   */
  keepStarted(gaveUp: (name: string, reason: string) => void): void {
    if (!this.started) return;
    const services = [
      ...this.started.kafka.nodes.map((node, i) => ({
        name: `Kafka node ${i + 1}`,
        service: node,
        list: 'kafka' as const,
        i,
      })),
      ...this.started.redis.servers.map((server, i) => ({
        name: `Redis ${i + 1}`,
        service: server,
        list: 'redis' as const,
        i,
      })),
    ];
    for (const { name, service, list, i } of services) {
      const keeper = new ServiceKeeper(service, {
        name,
        signal: this.keeping.signal,
        log: this.log,
        restarted: (pid) => {
          const state = this.readState();
          if (!state) return;
          state[list][i]!.pid = pid;
          this.writeState(state);
        },
        gaveUp: (reason) => gaveUp(name, reason),
      });
      keeper.watch();
      this.keepers.push(keeper);
    }
  }

  /** Stops every process recorded in run/cluster.json; whether anything ran. */
  async down(): Promise<boolean> {
    this.keeping.abort();
    await Promise.all(this.keepers.map((keeper) => keeper.settled()));
    const state = this.readState();
    if (!state) return false;
    const running = [...state.sentinels, ...state.kafka, ...state.redis].filter((p) => isAlive(p.pid));
    if (running.length > 0) this.log(`stopping the cluster (${running.length} processes)`);
    await Promise.all(running.map((p) => stopProcess(p.pid, 30_000)));
    for (const p of [...state.kafka, ...state.redis, ...state.sentinels]) delete p.pid;
    this.writeState(state);
    return running.length > 0;
  }

  async status(): Promise<ClusterStatus> {
    const state = this.readState();
    const empty: ClusterStatus = { running: false, kafka: [], redis: [], sentinels: [], dataDir: this.dataDir };
    if (!state) return empty;
    const kafka = await Promise.all(
      state.kafka.map(async ({ pid, port }) => {
        const address = `127.0.0.1:${port}`;
        const alive = isAlive(pid);
        const reachable =
          alive &&
          (await probeCluster([address], 2_000)
            .then((c) => c.brokers > 0)
            .catch(() => false));
        return { address, pid, alive, reachable };
      }),
    );
    const redisLike = (list: Array<{ pid?: number; port: number }>) =>
      Promise.all(
        list.map(async ({ pid, port }) => {
          const address = `redis://127.0.0.1:${port}`;
          const alive = isAlive(pid);
          return { address, pid, alive, reachable: alive && (await pingRedis(address)) };
        }),
      );
    const redis = await redisLike(state.redis);
    const sentinels = await redisLike(state.sentinels);
    const running = [...kafka, ...redis, ...sentinels].some((p) => p.alive);
    let master: string | undefined;
    const sentinel = sentinels.find((s) => s.reachable);
    if (sentinel) {
      const port = await sentinelMasterPort(Number(new URL(sentinel.address).port)).catch(() => undefined);
      if (port) master = `127.0.0.1:${port}`;
    }
    return {
      running,
      kafka,
      redis,
      sentinels,
      master,
      endpoints: running ? ClusterInfra.endpointsOf(state) : undefined,
      dataDir: this.dataDir,
    };
  }

  /** Stops the cluster and deletes its data. */
  async reset(): Promise<void> {
    await this.down();
    rmSync(this.dataDir, { recursive: true, force: true });
    rmSync(this.stateFile, { force: true });
  }
}

/** Both started, or whichever did is stopped again and the failure thrown. */
async function bothOrNeither<A extends { stop(): Promise<void> }, B extends { stop(): Promise<void> }>(
  a: Promise<A>,
  b: Promise<B>,
): Promise<[A, B]> {
  const [first, second] = await Promise.allSettled([a, b]);
  if (first.status === 'fulfilled' && second.status === 'fulfilled') return [first.value, second.value];
  if (first.status === 'fulfilled') await first.value.stop();
  if (second.status === 'fulfilled') await second.value.stop();
  throw (first.status === 'rejected' ? first.reason : (second as PromiseRejectedResult).reason) as Error;
}
