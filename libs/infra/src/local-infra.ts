import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeCluster } from '@lastmeter/kafka';
import { ensureKafkaJars, kafkaJarsCached } from './kafka-jars';
import { LocalKafka } from './kafka-broker';
import type { LastmeterHome } from './paths';
import { preferredOrFreePort } from './ports';
import { requireJava, requireMaven, requireRedisServer } from './prerequisites';
import { isAlive, stopProcess } from './processes';
import { LocalRedis, pingRedis } from './redis-server';
import { ServiceKeeper } from './service-keeper';

export interface InfraEndpoints {
  kafkaBrokers: string;
  redisUrl: string;
}

interface ServiceState {
  pid?: number;
  port: number;
  controllerPort?: number;
  startedAt?: string;
}

/** `.lastmeter/run/infra.json`: what `infra up` started, so `down`/`status` find it. */
export interface InfraState {
  kafka?: ServiceState;
  redis?: ServiceState;
}

export type ServiceStatus =
  | { kind: 'external'; address: string; reachable: boolean }
  | { kind: 'local'; address: string; pid: number; reachable: boolean; dataDir: string; logFile: string }
  | { kind: 'stopped'; dataDir: string };

export interface InfraStatus {
  home: string;
  kafka: ServiceStatus;
  redis: ServiceStatus;
}

export interface LocalInfraOptions {
  home: LastmeterHome;
  env?: NodeJS.ProcessEnv;
  /** AOF for `npm start` (true), none for throwaway test data. */
  redisAppendOnly?: boolean;
  keepAfterExit?: boolean;
  log?: (line: string) => void;
}

/**
 * The local Kafka and Redis of one LASTMETER_HOME. KAFKA_BROKERS / REDIS_URL in the
 * environment mean "use that one"; otherwise a broker and a redis-server are started
 * on loopback and recorded in run/infra.json, so a later `down` or `status` finds them.
 */
export class LocalInfra {
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: (line: string) => void;
  private kafka?: LocalKafka;
  private redis?: LocalRedis;
  /** Aborted by stopStarted(): an up() still under way starts nothing more. */
  private readonly stopping = new AbortController();
  private starting?: Promise<unknown>;
  private readonly keepers: ServiceKeeper[] = [];

  constructor(private readonly options: LocalInfraOptions) {
    this.env = options.env ?? process.env;
    this.log = options.log ?? (() => undefined);
  }

  private get stateFile(): string {
    return join(this.options.home.run, 'infra.json');
  }

  readState(): InfraState {
    return existsSync(this.stateFile) ? (JSON.parse(readFileSync(this.stateFile, 'utf8')) as InfraState) : {};
  }

  private writeState(state: InfraState): void {
    mkdirSync(this.options.home.run, { recursive: true });
    writeFileSync(this.stateFile, `${JSON.stringify(state, null, 2)}\n`);
  }

  /** Fails with one line (PrerequisiteMissing) before anything is started. */
  checkPrerequisites(): void {
    if (!this.env.KAFKA_BROKERS) {
      requireJava(this.env);
      if (!kafkaJarsCached(this.options.home.kafkaJars)) requireMaven(this.env);
    }
    if (!this.env.REDIS_URL) requireRedisServer(this.env);
  }

  /** Starts what is not running yet; returns the endpoints and what this call started. */
  up(): Promise<InfraEndpoints & { started: { kafka: boolean; redis: boolean } }> {
    const starting = this.bringUp();
    this.starting = starting.catch(() => undefined);
    return starting;
  }

  private async bringUp(): Promise<InfraEndpoints & { started: { kafka: boolean; redis: boolean } }> {
    this.checkPrerequisites();
    const state = this.readState();
    const started = { kafka: false, redis: false };

    let redisUrl = this.env.REDIS_URL;
    if (!redisUrl) {
      const running =
        state.redis?.pid && isAlive(state.redis.pid) && (await pingRedis(`redis://127.0.0.1:${state.redis.port}`));
      if (running) {
        redisUrl = `redis://127.0.0.1:${state.redis!.port}`;
        this.log(`Redis already running on ${redisUrl} (pid ${state.redis!.pid})`);
      } else {
        const port = await preferredOrFreePort(state.redis?.port);
        this.stopping.signal.throwIfAborted();
        this.redis = new LocalRedis({
          port,
          dataDir: this.options.home.redisData,
          logDir: this.options.home.logs,
          appendOnly: this.options.redisAppendOnly ?? true,
          env: this.env,
          keepAfterExit: this.options.keepAfterExit,
        });
        this.log(`starting Redis on 127.0.0.1:${port}`);
        await this.redis.start(undefined, this.stopping.signal);
        state.redis = { pid: this.redis.pid, port, startedAt: new Date().toISOString() };
        this.writeState(state);
        redisUrl = this.redis.url;
        started.redis = true;
      }
    }

    let kafkaBrokers = this.env.KAFKA_BROKERS;
    if (!kafkaBrokers) {
      const address = state.kafka ? `127.0.0.1:${state.kafka.port}` : '';
      const running = state.kafka?.pid && isAlive(state.kafka.pid) && (await reachableKafka(address));
      if (running) {
        kafkaBrokers = address;
        this.log(`Kafka already running on ${address} (pid ${state.kafka!.pid})`);
      } else {
        const jars = await ensureKafkaJars(this.options.home.kafkaJars, {
          env: this.env,
          onProgress: this.log,
          signal: this.stopping.signal,
        });
        const port = await preferredOrFreePort(state.kafka?.port);
        const controllerPort = await preferredOrFreePort(state.kafka?.controllerPort, [port]);
        this.stopping.signal.throwIfAborted();
        this.kafka = new LocalKafka({
          port,
          controllerPort,
          dataDir: this.options.home.kafkaData,
          logDir: join(this.options.home.logs, 'kafka'),
          jarsDir: jars.libs,
          env: this.env,
          keepAfterExit: this.options.keepAfterExit,
        });
        this.log(`starting Kafka ${jars.version} on 127.0.0.1:${port} (logs: ${this.kafka.logFile})`);
        await this.kafka.start(undefined, this.stopping.signal);
        state.kafka = { pid: this.kafka.pid, port, controllerPort, startedAt: new Date().toISOString() };
        this.writeState(state);
        kafkaBrokers = this.kafka.brokers;
        started.kafka = true;
      }
    }
    return { kafkaBrokers, redisUrl, started };
  }

  /**
   * From now on, the Kafka and Redis this instance started are restarted when they die
   * (`npm start`; see ServiceKeeper), until stopStarted(). `gaveUp` hears of one that
   * keeps failing.
   */
  keepStarted(gaveUp: (name: string, reason: string) => void, keeperOptions: { stableMs?: number } = {}): void {
    const services: Array<['kafka' | 'redis', 'Kafka' | 'Redis', LocalKafka | LocalRedis | undefined]> = [
      ['kafka', 'Kafka', this.kafka],
      ['redis', 'Redis', this.redis],
    ];
    for (const [key, name, service] of services) {
      if (!service) continue;
      const keeper = new ServiceKeeper(service, {
        name,
        signal: this.stopping.signal,
        log: this.log,
        restarted: (pid) => {
          const state = this.readState();
          state[key] = { ...state[key]!, pid, startedAt: new Date().toISOString() };
          this.writeState(state);
        },
        gaveUp: (reason) => gaveUp(name, reason),
        ...keeperOptions,
      });
      keeper.watch();
      this.keepers.push(keeper);
    }
  }

  /** Stops the local services recorded in run/infra.json (started by any process). */
  async down(): Promise<{ kafka: boolean; redis: boolean }> {
    const state = this.readState();
    const stopped = { kafka: false, redis: false };
    // Kafka first: its shutdown never needs Redis, and apps see one outage at a time.
    if (state.kafka?.pid && isAlive(state.kafka.pid)) {
      this.log(`stopping Kafka (pid ${state.kafka.pid})`);
      await stopProcess(state.kafka.pid, 30_000);
      stopped.kafka = true;
    }
    if (state.redis?.pid && isAlive(state.redis.pid)) {
      this.log(`stopping Redis (pid ${state.redis.pid})`);
      await stopProcess(state.redis.pid, 10_000);
      stopped.redis = true;
    }
    if (state.kafka) delete state.kafka.pid;
    if (state.redis) delete state.redis.pid;
    this.writeState(state);
    return stopped;
  }

  /**
   * Stops only what this instance started (the `npm start` supervisor's exit path), also
   * while up() is still under way (Ctrl-C during start-up): a jar download is cancelled,
   * a broker or Redis still booting is stopped, and nothing is started after this call.
   */
  async stopStarted(): Promise<void> {
    this.stopping.abort(new Error('stopping'));
    // Let an up() under way notice: it stops waiting for a booting server and starts no other.
    await this.starting;
    await Promise.all(this.keepers.map((keeper) => keeper.settled()));
    const state = this.readState();
    if (this.kafka) {
      this.log('stopping Kafka');
      await this.kafka.stop();
      if (state.kafka) delete state.kafka.pid;
    }
    if (this.redis) {
      this.log('stopping Redis');
      await this.redis.stop();
      if (state.redis) delete state.redis.pid;
    }
    this.writeState(state);
  }

  async status(): Promise<InfraStatus> {
    const state = this.readState();
    const { home } = this.options;
    let kafka: ServiceStatus;
    if (this.env.KAFKA_BROKERS) {
      kafka = {
        kind: 'external',
        address: this.env.KAFKA_BROKERS,
        reachable: await reachableKafka(this.env.KAFKA_BROKERS),
      };
    } else if (state.kafka?.pid && isAlive(state.kafka.pid)) {
      const address = `127.0.0.1:${state.kafka.port}`;
      kafka = {
        kind: 'local',
        address,
        pid: state.kafka.pid,
        reachable: await reachableKafka(address),
        dataDir: home.kafkaData,
        logFile: join(home.logs, 'kafka', 'server.log'),
      };
    } else {
      kafka = { kind: 'stopped', dataDir: home.kafkaData };
    }
    let redis: ServiceStatus;
    if (this.env.REDIS_URL) {
      redis = { kind: 'external', address: this.env.REDIS_URL, reachable: await pingRedis(this.env.REDIS_URL) };
    } else if (state.redis?.pid && isAlive(state.redis.pid)) {
      const address = `redis://127.0.0.1:${state.redis.port}`;
      redis = {
        kind: 'local',
        address,
        pid: state.redis.pid,
        reachable: await pingRedis(address),
        dataDir: home.redisData,
        logFile: join(home.logs, 'redis.log'),
      };
    } else {
      redis = { kind: 'stopped', dataDir: home.redisData };
    }
    return { home: home.root, kafka, redis };
  }

  /** Stops everything and deletes broker and Redis data; the jar cache stays. */
  async reset(): Promise<void> {
    await this.down();
    rmSync(join(this.options.home.root, 'data'), { recursive: true, force: true });
    rmSync(this.stateFile, { force: true });
  }
}

async function reachableKafka(brokers: string): Promise<boolean> {
  try {
    return (await probeCluster(brokers.split(','), 2_000)).brokers > 0;
  } catch {
    return false;
  }
}
