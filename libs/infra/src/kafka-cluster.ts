import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalKafka, newClusterId } from './kafka-broker';
import { preferredOrFreePort } from './ports';

export interface LocalKafkaClusterOptions {
  /** Each node's data is `<dataDir>/node-<id>`, its logs `<logDir>/node-<id>`. */
  dataDir: string;
  logDir: string;
  jarsDir: string;
  /** 3 by default: a three-voter controller quorum, replication factor 3, min ISR 2. */
  nodes?: number;
  heapMb?: number;
  env?: NodeJS.ProcessEnv;
  keepAfterExit?: boolean;
  /** Ports to use again (a restart of the same data): a node's port and controller port. */
  ports?: Array<{ port: number; controllerPort: number }>;
}

/**
 * Several KRaft nodes on loopback, each a broker and a controller voter, sharing one
 * cluster id: the Kafka of the cluster profile (issue 18). Ports are chosen free.
 */
export class LocalKafkaCluster {
  private constructor(readonly nodes: LocalKafka[]) {}

  static async create(options: LocalKafkaClusterOptions): Promise<LocalKafkaCluster> {
    const count = options.nodes ?? 3;
    const taken = new Set<number>();
    const port = async (preferred?: number) => {
      for (;;) {
        const candidate = await preferredOrFreePort(preferred, [...taken]);
        if (!taken.has(candidate)) return taken.add(candidate) && candidate;
      }
    };
    const layout: Array<{ port: number; controllerPort: number }> = [];
    for (let i = 0; i < count; i++) {
      const before = options.ports?.[i];
      layout.push({ port: await port(before?.port), controllerPort: await port(before?.controllerPort) });
    }
    const controllerPorts = layout.map((node) => node.controllerPort);
    const clusterId = newClusterId();
    const nodes = layout.map(
      ({ port, controllerPort }, i) =>
        new LocalKafka({
          port,
          controllerPort,
          cluster: { nodeId: i + 1, controllerPorts },
          clusterId,
          dataDir: join(options.dataDir, `node-${i + 1}`),
          logDir: join(options.logDir, `node-${i + 1}`),
          jarsDir: options.jarsDir,
          heapMb: options.heapMb ?? 384,
          env: options.env,
          keepAfterExit: options.keepAfterExit,
        }),
    );
    return new LocalKafkaCluster(nodes);
  }

  /**
   * A new cluster on fresh ports, started. A free port may be taken by someone else before
   * a node binds it (other tests, outgoing connections from the same range): then the
   * attempt is stopped, its data deleted, and another made on other ports.
   */
  static async startNew(options: Omit<LocalKafkaClusterOptions, 'ports'>, attempts = 3): Promise<LocalKafkaCluster> {
    for (let attempt = 1; ; attempt++) {
      const cluster = await LocalKafkaCluster.create(options);
      try {
        await cluster.start();
        return cluster;
      } catch (error) {
        await cluster.stop();
        rmSync(options.dataDir, { recursive: true, force: true });
        if (attempt >= attempts) throw error;
      }
    }
  }

  /** `KAFKA_BROKERS` for the whole cluster. */
  get brokers(): string {
    return this.nodes.map((node) => node.brokers).join(',');
  }

  /** Starts every node at once: a node is ready only once the controller quorum has formed. */
  async start(timeoutMs = 120_000): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.start(timeoutMs)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}
