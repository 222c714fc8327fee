import { Kafka, logLevel, type LogEntry, type RetryOptions } from 'kafkajs';

/** What kafkajs log lines are written to (a Nest logger, a CLI printer, or nothing). */
export interface KafkaLogSink {
  error(message: string, context: Record<string, unknown>): void;
  warn(message: string, context: Record<string, unknown>): void;
  info(message: string, context: Record<string, unknown>): void;
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  log?: KafkaLogSink;
  /** kafkajs defaults retry for ~30 s; probes want to fail fast. */
  retry?: RetryOptions;
  connectionTimeout?: number;
  requestTimeout?: number;
}

/**
 * The one place a kafkajs client is constructed. Everything Kafka goes through
 * libs/kafka so that a move to @confluentinc/kafka-javascript (KafkaJS-compatible API)
 * stays a local change.
 */
export function createKafkaClient(options: KafkaClientOptions): Kafka {
  const sink = options.log;
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeout ?? 3_000,
    requestTimeout: options.requestTimeout ?? 30_000,
    retry: options.retry ?? { initialRetryTime: 200, retries: 8, maxRetryTime: 5_000 },
    logLevel: sink ? logLevel.WARN : logLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      if (!sink) return;
      const { message, ...context } = entry.log;
      const line = `${entry.namespace}: ${message}`;
      if (entry.level === logLevel.ERROR) sink.error(line, context);
      else if (entry.level === logLevel.WARN) sink.warn(line, context);
      else sink.info(line, context);
    },
  });
}

/** Resolves with the cluster's description, or rejects within `timeoutMs`. */
export async function probeCluster(
  brokers: string[],
  timeoutMs = 3_000,
): Promise<{ clusterId: string; brokers: number; controller: number | null }> {
  const kafka = createKafkaClient({
    brokers,
    clientId: 'lastmeter-probe',
    retry: { retries: 0 },
    connectionTimeout: Math.min(1_000, timeoutMs),
    requestTimeout: timeoutMs,
  });
  const admin = kafka.admin();
  try {
    const cluster = await withTimeout(
      (async () => {
        await admin.connect();
        return admin.describeCluster();
      })(),
      timeoutMs,
      `Kafka at ${brokers.join(',')} did not answer within ${timeoutMs} ms`,
    );
    return { clusterId: cluster.clusterId, brokers: cluster.brokers.length, controller: cluster.controller };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
