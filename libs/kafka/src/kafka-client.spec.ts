import { logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { createKafkaClient, describeClusterWithin, kafkaLogLevel, type KafkaLogSink } from './kafka-client';

describe('kafkajs log levels', () => {
  it.each([
    // What a fresh broker answers while it boots: kafkajs retries every one of them.
    [
      'Response InitProducerId(key: 22, version: 1)',
      { error: "The coordinator is loading and hence can't process requests for this group" },
    ],
    ['Response GroupCoordinator(key: 10, version: 2)', { error: 'The group coordinator is not available' }],
    [
      'Response Metadata(key: 3, version: 6)',
      { error: 'There is no leader for this topic-partition as we are in the middle of a leadership election' },
    ],
    ['Response Produce(key: 0, version: 7)', { error: 'This server is not the leader for that topic-partition' }],
    ['Response Heartbeat(key: 12, version: 3)', { error: 'The group is rebalancing, so a rejoin is needed' }],
    ['Response JoinGroup(key: 11, version: 5)', { error: 'The coordinator is not aware of this member' }],
    ['Connection error: connect ECONNREFUSED 127.0.0.1:9092', { stack: 'Error: connect ECONNREFUSED' }],
    ['Connection timeout', {}],
    [
      'Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED 127.0.0.1:9092',
      { retryCount: 0 },
    ],
    ['Failed to send messages: This server is not the leader for that topic-partition', { retryCount: 1 }],
    ['The group coordinator is not available', { retryCount: 2, retryTime: 400 }],
    ['The coordinator is not aware of this member, re-joining the group', { groupId: 'g' }],
  ])('an ERROR that kafkajs retries is debug: %s', (message, context) => {
    expect(kafkaLogLevel(logLevel.ERROR, message, context)).toBe('debug');
  });

  it.each([
    [
      'The group is rebalancing, re-joining',
      { groupId: 'g', error: 'The group is rebalancing, so a rejoin is needed' },
    ],
    ['Consumer is not aware of all assigned partitions, refreshing metadata', { groupId: 'g' }],
    ['Could not create topics', { error: 'The request timed out', retryCount: 0 }],
  ])('a WARN about a recovery is debug: %s', (message, context) => {
    expect(kafkaLogLevel(logLevel.WARN, message, context)).toBe('debug');
  });

  it('a consumer restarted after its retries ran out is a warning', () => {
    expect(
      kafkaLogLevel(
        logLevel.ERROR,
        'Crash: KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED',
        {},
      ),
    ).toBe('warn');
    expect(
      kafkaLogLevel(logLevel.ERROR, 'Crash: KafkaJSProtocolError: The group coordinator is not available', {}),
    ).toBe('warn');
    expect(kafkaLogLevel(logLevel.ERROR, 'Crash: KafkaJSNoBrokerAvailableError: No broker available', {})).toBe('warn');
    expect(kafkaLogLevel(logLevel.ERROR, 'Restarting the consumer in 300ms', { retryCount: 5 })).toBe('warn');
  });

  it('keeps the bounded-retries warning of idempotent producers at debug: ours renew their id or epoch after a failed send', () => {
    expect(
      kafkaLogLevel(logLevel.WARN, 'Limiting retries for the idempotent producer may invalidate EoS guarantees', {}),
    ).toBe('debug');
  });

  it.each([
    [
      'Response SaslAuthenticate(key: 36, version: 1)',
      {
        error:
          'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256',
      },
    ],
    [
      'Response Produce(key: 0, version: 7)',
      { error: 'The request included a message larger than the max message size the server will accept' },
    ],
    [
      'Response InitProducerId(key: 22, version: 1)',
      { error: 'The producer attempted to use a producer id which is not currently assigned to its transactional id' },
    ],
    ['Crash: KafkaJSNonRetriableError: Topic creation errors', {}],
    ['Error when calling eachBatch', { error: 'boom' }],
  ])('a genuinely fatal error stays an ERROR: %s', (message, context) => {
    expect(kafkaLogLevel(logLevel.ERROR, message, context)).toBe('error');
  });

  it('keeps other warnings', () => {
    expect(kafkaLogLevel(logLevel.WARN, 'Response without match', { correlationId: 3 })).toBe('warn');
  });

  it('writes debug lines to the sink only when it has a debug method', () => {
    const lines: string[] = [];
    const sink = (withDebug: boolean): KafkaLogSink => ({
      error: (m) => lines.push(`error ${m}`),
      warn: (m) => lines.push(`warn ${m}`),
      info: (m) => lines.push(`info ${m}`),
      ...(withDebug ? { debug: (m: string) => lines.push(`debug ${m}`) } : {}),
    });
    for (const withDebug of [true, false]) {
      // kafkajs' own logger, as its Connection and Consumer use it, writes through our logCreator.
      const logger = createKafkaClient({ brokers: ['127.0.0.1:1'], clientId: 't', log: sink(withDebug) }).logger();
      logger.namespace('Connection').error('Connection error: connect ECONNREFUSED 127.0.0.1:1');
      logger.namespace('Consumer').error('Crash: KafkaJSNonRetriableError: boom');
    }
    expect(lines).toEqual([
      'debug Connection: Connection error: connect ECONNREFUSED 127.0.0.1:1',
      'error Consumer: Crash: KafkaJSNonRetriableError: boom',
      'error Consumer: Crash: KafkaJSNonRetriableError: boom',
    ]);
  });

  it('keeps a stack trace on errors only', () => {
    const contexts: Record<string, Record<string, unknown>> = {};
    const logger = createKafkaClient({
      brokers: ['127.0.0.1:1'],
      clientId: 't',
      log: {
        error: (m, c) => (contexts.error = c),
        warn: (m, c) => (contexts.warn = c),
        info: () => undefined,
      },
    }).logger();
    const stack = 'KafkaJSNoBrokerAvailableError: No broker available\n    at createFetchers (fetchManager.js:38:13)';
    logger.namespace('Consumer').error('Crash: KafkaJSNoBrokerAvailableError: No broker available', { stack });
    logger.namespace('Consumer').error('Crash: KafkaJSNonRetriableError: boom', { stack });
    expect(contexts.warn).not.toHaveProperty('stack');
    expect(contexts.error).toHaveProperty('stack', stack);
  });
});

describe('describeClusterWithin', () => {
  const cluster = { clusterId: 'c1', brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092 }], controller: 1 };
  /** An admin whose describeCluster answers (or hangs) as told, and whose disconnect never ends. */
  function fakeAdmin(describe: () => Promise<typeof cluster>) {
    const calls: string[] = [];
    const admin = {
      connect: async () => void calls.push('connect'),
      describeCluster: () => (calls.push('describe'), describe()),
      // kafkajs waits for the requests in flight: a hung one keeps it waiting.
      disconnect: () => (calls.push('disconnect'), new Promise<void>(() => undefined)),
    } as unknown as Admin;
    return { admin, calls };
  }

  it("connects and answers the cluster's description, leaving the admin connected", async () => {
    const { admin, calls } = fakeAdmin(async () => cluster);
    await expect(describeClusterWithin(admin, 1_000, 'too slow')).resolves.toEqual(cluster);
    expect(calls).toEqual(['connect', 'describe']);
  });

  it('gives up after its bound with the message, starting the disconnect without waiting for it', async () => {
    const { admin, calls } = fakeAdmin(() => new Promise(() => undefined));
    // The disconnect never ends here: the rejection comes only if it is not awaited.
    await expect(describeClusterWithin(admin, 50, 'no answer within 50 ms')).rejects.toThrow('no answer within 50 ms');
    expect(calls).toEqual(['connect', 'describe', 'disconnect']);
  });

  it('passes a failure on, disconnecting', async () => {
    const { admin, calls } = fakeAdmin(async () => {
      throw new Error('Connection error: connect ECONNREFUSED');
    });
    await expect(describeClusterWithin(admin, 1_000, 'too slow')).rejects.toThrow('ECONNREFUSED');
    expect(calls).toEqual(['connect', 'describe', 'disconnect']);
  });
});
