import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { JwtService } from '@nestjs/jwt';
import type { ActorRole } from '@lastmeter/contracts';
import { ensureKafkaJars, freePort, lastmeterHome, type ClusterStatus } from '@lastmeter/infra';

const CLI = resolve(__dirname, '../../apps/cli/src/main.js');

/**
 * The system under test: `lastmeter start-cluster` (three brokers, Redis with Sentinel,
 * two of every app, HAProxy) in its own LASTMETER_HOME under `.lastmeter/chaos`, started
 * from empty data so every run of `npm run chaos` begins alike. The Kafka jars are the
 * ones `npm start` cached.
 */
export class ChaosCluster {
  private output = '';
  private exited!: Promise<number | null>;
  private readonly jwt: JwtService;

  private constructor(
    private readonly child: ChildProcess,
    readonly home: string,
    readonly gatewayUrl: string,
    readonly commandUrl: string,
    secret: string,
  ) {
    this.jwt = new JwtService({ secret });
    // Everything start-cluster and its apps print, also in logs/start-cluster.log.
    const file = createWriteStream(join(home, 'logs', 'start-cluster.log'));
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('data', (chunk: Buffer) => {
        this.output += chunk.toString();
        file.write(chunk);
      });
    }
    this.exited = new Promise((done) => child.once('exit', done));
  }

  static async start(log: (line: string) => void): Promise<ChaosCluster> {
    const shared = lastmeterHome();
    const home = join(shared.root, 'chaos');
    // Fresh data and logs; the previous run's cluster is stopped first if it still runs.
    spawnSync(process.execPath, [CLI, 'infra', 'down'], { env: { ...process.env, LASTMETER_HOME: home } });
    for (const dir of ['data', 'logs', 'run']) rmSync(join(home, dir), { recursive: true, force: true });
    mkdirSync(join(home, 'logs'), { recursive: true });
    await ensureKafkaJars(shared.kafkaJars, { onProgress: log });
    if (!existsSync(join(home, 'kafka'))) symlinkSync(shared.kafkaJars, join(home, 'kafka'));

    const ports = { gateway: await freePort(), command: await freePort() };
    const secret = randomBytes(32).toString('base64url');
    const child = spawn(process.execPath, [CLI, 'start-cluster'], {
      env: {
        ...process.env,
        NO_COLOR: '1',
        LASTMETER_HOME: home,
        LASTMETER_JWT_SECRET: secret,
        GATEWAY_PORT: String(ports.gateway),
        COMMAND_PORT: String(ports.command),
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const cluster = new ChaosCluster(
      child,
      home,
      `http://127.0.0.1:${ports.gateway}`,
      `http://127.0.0.1:${ports.command}`,
      secret,
    );
    log(`starting the cluster profile (logs: ${join(home, 'logs')})`);
    const deadline = Date.now() + 300_000;
    while (!cluster.output.includes('Last Meter (cluster profile) is up')) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`start-cluster did not come up:\n${cluster.output.slice(-4_000)}`);
      await new Promise((done) => setTimeout(done, 500));
    }
    return cluster;
  }

  /** The instance ports behind each balancer, and the projectors' (from start-cluster's banner). */
  get instances(): Record<'gateway' | 'command' | 'projector', number[]> {
    const ports = (pattern: RegExp) =>
      [...(pattern.exec(this.output)?.[1] ?? '').matchAll(/:(\d+)/g)].map((m) => Number(m[1]));
    return {
      gateway: ports(/gateway \(HAProxy\)\s+\S+\s+→((?: :\d+)+)/),
      command: ports(/command API \(HAProxy\)\s+\S+\s+→((?: :\d+)+)/),
      projector: ports(/projectors\s+(.*)/),
    };
  }

  get kafkaBrokers(): string {
    return /Kafka \(3 brokers\)\s+(\S+)/.exec(this.output)![1]!;
  }

  get redisUrl(): string {
    return /Redis \(Sentinel\)\s+(\S+)/.exec(this.output)![1]!;
  }

  /** The controller log of Kafka node `id` (1-based), where KRaft says who became the active controller. */
  controllerLog(id: number): string {
    return join(this.home, 'logs', 'cluster', 'kafka', `node-${id}`, 'controller.log');
  }

  token(role: ActorRole, claims: Record<string, unknown> = {}): string {
    return this.jwt.sign({ sub: `chaos-${role}`, role, ...claims }, { issuer: 'lastmeter', expiresIn: '4h' });
  }

  status(): ClusterStatus {
    const result = spawnSync(process.execPath, [CLI, 'infra', 'status', '--json'], {
      env: { ...process.env, LASTMETER_HOME: this.home },
      encoding: 'utf8',
    });
    return (JSON.parse(result.stdout) as { cluster: ClusterStatus }).cluster;
  }

  /** Runs `lastmeter <args>` against this cluster; its output. */
  cli(args: string[]): { status: number | null; output: string } {
    const result = spawnSync(process.execPath, [CLI, ...args], {
      env: {
        ...process.env,
        NO_COLOR: '1',
        LASTMETER_HOME: this.home,
        KAFKA_BROKERS: this.kafkaBrokers,
        REDIS_URL: this.redisUrl,
      },
      encoding: 'utf8',
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  /** start-cluster's own output since the start (restarts of killed processes show there). */
  get log(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      process.kill(-this.child.pid!, 'SIGINT');
      await this.exited;
    }
  }
}
