import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRedisClient } from '@lastmeter/redis';
import { preferredOrFreePort } from './ports';
import { requireRedisServer } from './prerequisites';
import { spawnDaemon, stopProcess, waitUntil } from './processes';
import { LocalRedis } from './redis-server';

/** The master name the Sentinels watch (`redis+sentinel://…/lastmeter`). */
export const SENTINEL_MASTER = 'lastmeter';

/** sentinel.conf of one Sentinel: quorum 2 of 3, a master down after 1 s of silence. */
export function sentinelConfig(port: number, masterPort: number, dir: string): string {
  return [
    '# Written by lastmeter (libs/infra/src/redis-sentinel.ts) on every start; Sentinel rewrites it.',
    `port ${port}`,
    'bind 127.0.0.1',
    `dir ${dir}`,
    `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${masterPort} 2`,
    `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
    `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
    `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
    '',
  ].join('\n');
}

export interface LocalRedisSentinelOptions {
  dataDir: string;
  logDir: string;
  /** Replicas of the master (1 by default); three Sentinels watch them all. */
  replicas?: number;
  appendOnly?: boolean;
  env?: NodeJS.ProcessEnv;
  keepAfterExit?: boolean;
  /** Ports to use again (a restart): the servers' (master first) and the Sentinels'. */
  ports?: { servers: number[]; sentinels: number[] };
}

/**
 * A replicated Redis with automatic failover on loopback: a master, its replicas and
 * three Sentinels (redis-server --sentinel), the Redis of the cluster profile (ADR
 * 0006). Clients connect with `url` (redis+sentinel://) and follow a promotion.
 */
export class LocalRedisSentinelSet {
  private sentinels: ChildProcess[] = [];

  private constructor(
    readonly servers: LocalRedis[],
    readonly sentinelPorts: number[],
    private readonly options: LocalRedisSentinelOptions,
  ) {}

  static async create(options: LocalRedisSentinelOptions): Promise<LocalRedisSentinelSet> {
    const taken = new Set<number>();
    const port = async (preferred?: number) => {
      for (;;) {
        const candidate = await preferredOrFreePort(preferred, [...taken]);
        if (!taken.has(candidate)) return taken.add(candidate) && candidate;
      }
    };
    const before = options.ports;
    const masterPort = await port(before?.servers[0]);
    const servers: LocalRedis[] = [];
    for (let i = 0; i <= (options.replicas ?? 1); i++) {
      const serverPort = i === 0 ? masterPort : await port(before?.servers[i]);
      servers.push(
        new LocalRedis({
          port: serverPort,
          dataDir: join(options.dataDir, `redis-${i + 1}`),
          logDir: join(options.logDir, `redis-${i + 1}`),
          appendOnly: options.appendOnly ?? false,
          env: options.env,
          keepAfterExit: options.keepAfterExit,
          extraArgs: i === 0 ? [] : ['--replicaof', '127.0.0.1', String(masterPort)],
        }),
      );
    }
    const sentinelPorts = [
      await port(before?.sentinels[0]),
      await port(before?.sentinels[1]),
      await port(before?.sentinels[2]),
    ];
    return new LocalRedisSentinelSet(servers, sentinelPorts, options);
  }

  /** A new set on fresh ports, started; retried on other ports if one was taken meanwhile (see LocalKafkaCluster.startNew). */
  static async startNew(
    options: Omit<LocalRedisSentinelOptions, 'ports'>,
    attempts = 3,
  ): Promise<LocalRedisSentinelSet> {
    for (let attempt = 1; ; attempt++) {
      const set = await LocalRedisSentinelSet.create(options);
      try {
        await set.start();
        return set;
      } catch (error) {
        await set.stop();
        rmSync(options.dataDir, { recursive: true, force: true });
        if (attempt >= attempts) throw error;
      }
    }
  }

  /** The Sentinels' process ids (after start). */
  get sentinelPids(): Array<number | undefined> {
    return this.sentinels.map((sentinel) => sentinel.pid);
  }

  get url(): string {
    return `redis+sentinel://${this.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${SENTINEL_MASTER}`;
  }

  /** The master's port as the Sentinels see it now. */
  masterPort(): Promise<number> {
    return sentinelMasterPort(this.sentinelPorts[0]!);
  }

  async start(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.servers.map((server) => server.start(timeoutMs)));
    const redisServer = requireRedisServer(this.options.env);
    const masterPort = Number(new URL(this.servers[0]!.url).port);
    this.sentinels = this.sentinelPorts.map((port, i) => {
      const dir = join(this.options.dataDir, `sentinel-${i + 1}`);
      mkdirSync(dir, { recursive: true });
      mkdirSync(this.options.logDir, { recursive: true });
      const conf = join(dir, 'sentinel.conf');
      writeFileSync(conf, sentinelConfig(port, masterPort, dir));
      return spawnDaemon(redisServer, [conf, '--sentinel'], {
        logFile: join(this.options.logDir, `sentinel-${i + 1}.log`),
        env: this.options.env,
        keepAfterExit: this.options.keepAfterExit,
      });
    });
    // Ready once every Sentinel knows the master and its replicas, and the others.
    await waitUntil(
      'Redis Sentinels',
      async () => {
        for (const port of this.sentinelPorts) {
          const sentinel = createRedisClient(`redis://127.0.0.1:${port}`, 'lastmeter-sentinel-probe', {
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
          });
          sentinel.on('error', () => undefined);
          try {
            const replicas = (await sentinel.call('SENTINEL', 'replicas', SENTINEL_MASTER)) as unknown[];
            const peers = (await sentinel.call('SENTINEL', 'sentinels', SENTINEL_MASTER)) as unknown[];
            if (replicas.length < this.servers.length - 1 || peers.length < this.sentinelPorts.length - 1) return false;
          } finally {
            sentinel.disconnect();
          }
        }
        return true;
      },
      { timeoutMs, intervalMs: 200 },
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.sentinels.map((sentinel) => stopProcess(sentinel.pid, 5_000)));
    await Promise.all(this.servers.map((server) => server.stop()));
  }
}

/** The master's port as the Sentinel on `sentinelPort` reports it. */
export async function sentinelMasterPort(sentinelPort: number): Promise<number> {
  const sentinel = createRedisClient(`redis://127.0.0.1:${sentinelPort}`, 'lastmeter-sentinel-probe', {
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  sentinel.on('error', () => undefined);
  try {
    const [, port] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER)) as string[];
    return Number(port);
  } finally {
    sentinel.disconnect();
  }
}
