import { Kafka, logLevel, type Admin, type ISocketFactory, type LogEntry, type RetryOptions } from 'kafkajs';
import { countRequests } from './request-counts';

/** What kafkajs log lines are written to (a Nest logger, a CLI printer, or nothing). */
export interface KafkaLogSink {
  error(message: string, context: Record<string, unknown>): void;
  warn(message: string, context: Record<string, unknown>): void;
  info(message: string, context: Record<string, unknown>): void;
  /** Retriable errors kafkajs recovers from by itself (see kafkaLogLevel); dropped when absent. */
  debug?(message: string, context: Record<string, unknown>): void;
}

/**
 * How long the broker may hold a fetch of a consumer that follows a topic (the decider,
 * the event tail, the projector) when there is nothing new: `fetch.max.wait.ms`, Kafka's
 * default. It is not a latency: the broker answers as soon as records are there, committed
 * ones for a read_committed consumer (measured, commit → received, 2026-12-03: p50 2.3–5.0 ms
 * with 1,000 ms as with 50 ms). It bounds how often an idle consumer asks, and how long a
 * rebalance, a seek or a disconnect may wait for the fetch in flight.
 */
export const FOLLOW_MAX_WAIT_MS = 500;

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  log?: KafkaLogSink;
  /** kafkajs defaults retry for ~30 s; probes want to fail fast. */
  retry?: RetryOptions;
  connectionTimeout?: number;
  requestTimeout?: number;
  /** The client's TCP connections (default: kafkajs's own), e.g. a ConnectionWatch's. */
  socketFactory?: ISocketFactory;
}

interface ProtocolError {
  type: string;
  retriable: boolean;
  message: string;
}

/** kafkajs' own table of Kafka protocol errors (not part of its typed API; read defensively). */
function protocolErrors(): ProtocolError[] {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('kafkajs/src/protocol/error') as { errorCodes: ProtocolError[] }).errorCodes;
  } catch {
    return [];
  }
}

/** Group membership answers the consumer handles by re-joining: part of every rebalance. */
const REJOIN_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'MEMBER_ID_REQUIRED',
]);

/** Error messages kafkajs retries (or answers by re-joining) on its own. */
const RECOVERED_ERRORS = new Set(
  protocolErrors()
    .filter((e) => e.retriable || REJOIN_ERRORS.has(e.type))
    .map((e) => e.message),
);

/**
 * kafkajs lines about a step it is about to retry or recover from: a broker still booting
 * (connection refused, coordinator loading, leader not yet elected), a group rebalancing.
 * kafkajs logs several of them at ERROR although nothing failed yet; if the retries run out,
 * the caller gets the error and reports it.
 */
const RECOVERY_NOTICES = [
  /^Connection error: /, // connect ECONNREFUSED, ECONNRESET… (KafkaJSConnectionError, retried)
  /^Connection timeout$/,
  /^Failed to connect to seed broker, trying another broker/,
  /^Failed to send messages: /, // logged only for errors the producer retries
  /^The group is rebalancing, re-joining$/,
  /^The coordinator is not aware of this member, re-joining the group$/,
  /^Consumer is not aware of all assigned partitions, refreshing metadata$/,
  /, resync group$/,
  // Every idempotent producer here with bounded retries (the partition writers'
  // transactional ones, BatchProducer) replaces its producer id or epoch after a failed
  // send, which is what the warning is about (PartitionWriter's `inDoubt`).
  /^Limiting retries for the idempotent producer may invalidate EoS guarantees$/,
];

/** kafkajs errors (not protocol errors) after which it restarts a crashed consumer. */
const RETRIABLE_CLIENT_ERRORS = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSBrokerNotFound',
]);

export type KafkaLogLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * The level a kafkajs log line is written at. Retriable errors and recoveries go to debug
 * (start-up with a fresh broker is full of them); a consumer restart after exhausted
 * retries is a warning; everything else keeps kafkajs' level, so a genuinely fatal error
 * (authentication, an unknown topic the client may not create, a crash on a non-retriable
 * error) stays an error.
 */
export function kafkaLogLevel(level: logLevel, message: string, context: Record<string, unknown>): KafkaLogLevel {
  if (level === logLevel.ERROR || level === logLevel.WARN) {
    const error = typeof context.error === 'string' ? context.error : undefined;
    if (RECOVERY_NOTICES.some((notice) => notice.test(message))) return 'debug';
    // `Response Produce(…)` with error: "<protocol message>", or the bare message with retryCount.
    if (RECOVERED_ERRORS.has(error ?? message)) return 'debug';
    // A consumer that ran out of retries on a retriable error: kafkajs restarts it.
    const crash = /^Crash: (\w+): (.*)$/s.exec(message);
    if (crash && (RETRIABLE_CLIENT_ERRORS.has(crash[1]) || RECOVERED_ERRORS.has(crash[2]))) return 'warn';
    if (/^Restarting the consumer in \d+ms$/.test(message)) return 'warn';
  }
  switch (level) {
    case logLevel.ERROR:
      return 'error';
    case logLevel.WARN:
      return 'warn';
    case logLevel.INFO:
      return 'info';
    default:
      return 'debug';
  }
}

/**
 * The one place a kafkajs client is constructed. Everything Kafka goes through
 * libs/kafka so that a move to @confluentinc/kafka-javascript (KafkaJS-compatible API)
 * stays a local change.
 */
export function createKafkaClient(options: KafkaClientOptions): Kafka {
  const sink = options.log;
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeout ?? 3_000,
    requestTimeout: options.requestTimeout ?? 30_000,
    retry: options.retry ?? { initialRetryTime: 200, retries: 8, maxRetryTime: 5_000 },
    ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
    logLevel: sink ? logLevel.WARN : logLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      if (!sink) return;
      const { message, ...context } = entry.log;
      const line = `${entry.namespace}: ${message}`;
      const level = kafkaLogLevel(entry.level, message, context);
      // A stack trace belongs to an error; below that it is noise (the message says it all).
      if (level !== 'error') delete context.stack;
      if (level === 'debug') sink.debug?.(line, context);
      else sink[level](line, context);
    },
  });
  return countRequests(kafka);
}

/** What `admin.describeCluster()` answers. */
export type ClusterDescription = Awaited<ReturnType<Admin['describeCluster']>>;

/**
 * Connects `admin` (nothing to do if it is connected) and describes the cluster, or
 * rejects with `message` after `ms`. On any failure the admin's disconnect is started and
 * not awaited: kafkajs's disconnect waits for the requests still in flight, the very ones
 * given up on (a connection or a request stuck on a loaded broker is only dropped after
 * its request timeout); the connection closes once they end. The one bounded cluster
 * probe of the apps' readiness check, the gateway's feed epoch and the infra tools.
 */
export async function describeClusterWithin(admin: Admin, ms: number, message: string): Promise<ClusterDescription> {
  try {
    return await withTimeout(
      (async () => {
        await admin.connect();
        return admin.describeCluster();
      })(),
      ms,
      message,
    );
  } catch (error) {
    void admin.disconnect().catch(() => undefined);
    throw error;
  }
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
  const cluster = await describeClusterWithin(
    admin,
    timeoutMs,
    `Kafka at ${brokers.join(',')} did not answer within ${timeoutMs} ms`,
  );
  await admin.disconnect().catch(() => undefined);
  return { clusterId: cluster.clusterId, brokers: cluster.brokers.length, controller: cluster.controller };
}

/** `promise`, or an Error with `message` (made when the time is up, if a function) after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(typeof message === 'function' ? message() : message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
