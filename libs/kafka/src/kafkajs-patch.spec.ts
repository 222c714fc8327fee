/**
 * The patched kafkajs (patches/kafkajs+2.2.4.patch), driven through its own modules:
 * - the transaction manager, with a fake cluster of coordinators: which coordinator each
 *   request goes to, and when it is looked up. The real broker's side is test/platform's
 *   kafka-producer e2e (lookups counted) and the cluster suites (a broker killed while
 *   the writers decide);
 * - a connection's request queue: no timer runs while nothing waits (kafkajs #1556), and
 *   what waits is still sent;
 * - a send's grouping by partition (one pass now): the same groups, in the same order;
 * - a record batch's checksum (native CRC-32C): the same values as kafkajs's table.
 */
import { createHash, randomBytes } from 'node:crypto';
import { eventually } from '../../../test/support/eventually';

// kafkajs's internals have no types; these are the parts the spec calls.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createEosManager = require('kafkajs/src/producer/eosManager') as (options: object) => EosManager;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { KafkaJSProtocolError } = require('kafkajs/src/errors') as { KafkaJSProtocolError: new (e: object) => Error };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as new (options: object) => RequestQueueLike;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode(code: number): object };

interface RequestQueueLike {
  push(request: { entry: object; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
  checkPendingRequests(): void;
  destroy(): void;
  throttleCheckTimeoutId: unknown;
}

interface EosManager {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  addPartitionsToTransaction(topics: Array<{ topic: string; partitions: Array<{ partition: number }> }>): Promise<void>;
  sendOffsets(offsets: {
    consumerGroupId: string;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>;
  }): Promise<void>;
  addOffsetsToTransaction(consumerGroupId: string): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** A broker that answers every transactional request, failing the next ones it is told to. */
class FakeCoordinator {
  readonly calls: string[] = [];
  private readonly failures: Array<{ api: string; code: number }> = [];

  constructor(readonly name: string) {}

  failNext(api: string, code: number): void {
    this.failures.push({ api, code });
  }

  private async answer(api: string, reply: object = {}): Promise<object> {
    this.calls.push(api);
    const failure = this.failures.findIndex((f) => f.api === api);
    if (failure >= 0) {
      const [{ code }] = this.failures.splice(failure, 1);
      throw new KafkaJSProtocolError(createErrorFromCode(code));
    }
    return reply;
  }

  initProducerId = () => this.answer('InitProducerId', { producerId: 7, producerEpoch: 0 });
  addPartitionsToTxn = () => this.answer('AddPartitionsToTxn');
  addOffsetsToTxn = () => this.answer('AddOffsetsToTxn');
  txnOffsetCommit = () => this.answer('TxnOffsetCommit');
  endTxn = () => this.answer('EndTxn');
}

/** A cluster whose FindCoordinator answers from a list per coordinator type (the last one stays). */
function fakeCluster(coordinators: { transaction: FakeCoordinator[]; group: FakeCoordinator[] }) {
  const lookups = { transaction: 0, group: 0 };
  return {
    lookups,
    cluster: {
      retry: { retries: 3, initialRetryTime: 1, maxRetryTime: 5 },
      refreshMetadataIfNecessary: async () => undefined,
      findGroupCoordinator: async ({ coordinatorType }: { coordinatorType: number }) => {
        const kind = coordinatorType === 1 ? 'transaction' : 'group';
        const list = coordinators[kind];
        return list[Math.min(lookups[kind]++, list.length - 1)];
      },
    },
  };
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const offsets = { consumerGroupId: 'g', topics: [{ topic: 'commands', partitions: [{ partition: 0, offset: '1' }] }] };

async function transactional(cluster: object): Promise<EosManager> {
  const eos = createEosManager({ logger: silent, cluster, transactional: true, transactionalId: 't' });
  await eos.initProducerId();
  return eos;
}

describe('patched kafkajs transactions', () => {
  it('looks the coordinators up once for many transactions', async () => {
    const coordinator = new FakeCoordinator('a');
    const { cluster, lookups } = fakeCluster({ transaction: [coordinator], group: [coordinator] });
    const eos = await transactional(cluster);
    for (let i = 0; i < 3; i++) {
      eos.beginTransaction();
      await eos.addPartitionsToTransaction([{ topic: 'events', partitions: [{ partition: 0 }] }]);
      await eos.sendOffsets(offsets);
      await eos.commit();
    }
    expect(lookups).toEqual({ transaction: 1, group: 1 });
    expect(coordinator.calls.filter((c) => c === 'EndTxn')).toHaveLength(3);
  });

  it('adds the offsets partition beside the records, once per transaction: sendOffsets then only commits them', async () => {
    const coordinator = new FakeCoordinator('a');
    const { cluster } = fakeCluster({ transaction: [coordinator], group: [coordinator] });
    const eos = await transactional(cluster);
    for (let i = 0; i < 2; i++) {
      eos.beginTransaction();
      await Promise.all([
        eos.addOffsetsToTransaction('g'),
        eos.addPartitionsToTransaction([{ topic: 'events', partitions: [{ partition: 0 }] }]),
      ]);
      await eos.sendOffsets(offsets);
      await eos.commit();
    }
    expect(coordinator.calls).toEqual([
      'InitProducerId',
      ...['AddOffsetsToTxn', 'AddPartitionsToTxn', 'TxnOffsetCommit', 'EndTxn'],
      ...['AddOffsetsToTxn', 'AddPartitionsToTxn', 'TxnOffsetCommit', 'EndTxn'],
    ]);
  });

  it('adds the offsets partition again after a failed AddOffsetsToTxn, and ends a transaction that only has offsets', async () => {
    const coordinator = new FakeCoordinator('a');
    const { cluster } = fakeCluster({ transaction: [coordinator], group: [coordinator] });
    const eos = await transactional(cluster);
    eos.beginTransaction();
    coordinator.failNext('AddOffsetsToTxn', 51); // CONCURRENT_TRANSACTIONS
    await expect(eos.addOffsetsToTransaction('g')).rejects.toThrow();
    await eos.sendOffsets(offsets);
    await eos.commit();
    expect(coordinator.calls).toEqual([
      'InitProducerId',
      'AddOffsetsToTxn',
      'AddOffsetsToTxn',
      'TxnOffsetCommit',
      'EndTxn',
    ]);
  });

  it.each([
    ['NOT_COORDINATOR_FOR_GROUP', 16],
    ['GROUP_COORDINATOR_NOT_AVAILABLE', 15],
  ])('retries offsets answered %s at the group coordinator it looks up again', async (_name, code) => {
    const [moved, current] = [new FakeCoordinator('moved'), new FakeCoordinator('current')];
    const transaction = new FakeCoordinator('transaction');
    const { cluster, lookups } = fakeCluster({ transaction: [transaction], group: [moved, current] });
    const eos = await transactional(cluster);
    eos.beginTransaction();
    moved.failNext('TxnOffsetCommit', code);
    await eos.sendOffsets(offsets);
    await eos.commit();
    expect(moved.calls).toEqual(['TxnOffsetCommit']);
    expect(current.calls).toEqual(['TxnOffsetCommit']);
    expect(transaction.calls.at(-1)).toBe('EndTxn');
    // Forgetting the group coordinator forgets the transaction coordinator too (`toCoordinator`).
    expect(lookups.group).toBe(2);
  });

  it('retries offsets while the group coordinator is still loading (GROUP_LOAD_IN_PROGRESS)', async () => {
    const coordinator = new FakeCoordinator('a');
    const { cluster, lookups } = fakeCluster({ transaction: [coordinator], group: [coordinator] });
    const eos = await transactional(cluster);
    eos.beginTransaction();
    coordinator.failNext('TxnOffsetCommit', 14);
    await eos.sendOffsets(offsets);
    expect(coordinator.calls.filter((c) => c === 'TxnOffsetCommit')).toHaveLength(2);
    // Loading says nothing about where the coordinator is: not looked up again.
    expect(lookups.group).toBe(1);
  });

  it('keeps the coordinators through CONCURRENT_TRANSACTIONS', async () => {
    const coordinator = new FakeCoordinator('a');
    const { cluster, lookups } = fakeCluster({ transaction: [coordinator], group: [coordinator] });
    const eos = await transactional(cluster);
    eos.beginTransaction();
    coordinator.failNext('AddPartitionsToTxn', 51);
    await expect(eos.addPartitionsToTransaction([{ topic: 'events', partitions: [{ partition: 0 }] }])).rejects.toThrow(
      /transaction/i,
    );
    await eos.addPartitionsToTransaction([{ topic: 'events', partitions: [{ partition: 0 }] }]);
    expect(lookups.transaction).toBe(1);
  });
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const createProducer = require('kafkajs/src/producer') as (options: object) => {
  transaction(): Promise<{
    addOffsets(consumerGroupId: string): Promise<void>;
    sendOffsets(offsets: object): Promise<void>;
    commit(): Promise<void>;
    abort(): Promise<void>;
  }>;
};

describe("the patched producer's transaction.addOffsets", () => {
  const logger = { ...silent, namespace: () => silent };
  /** A transactional producer on one fake coordinator, its retries a few ms apart. */
  const producerOn = (coordinator: FakeCoordinator) =>
    createProducer({
      // sendOffsets tells the cluster which offsets were committed (for its consumers).
      cluster: {
        ...fakeCluster({ transaction: [coordinator], group: [coordinator] }).cluster,
        markOffsetAsCommitted() {},
      },
      logger,
      idempotent: true,
      transactionalId: 't',
      retry: { retries: 3, initialRetryTime: 1, maxRetryTime: 5 },
    });

  it('retries AddOffsetsToTxn answered CONCURRENT_TRANSACTIONS (the last commit still being written), then commits', async () => {
    const coordinator = new FakeCoordinator('a');
    const transaction = await producerOn(coordinator).transaction();
    coordinator.failNext('AddOffsetsToTxn', 51); // CONCURRENT_TRANSACTIONS
    coordinator.failNext('AddOffsetsToTxn', 51);
    await transaction.addOffsets('g');
    await transaction.sendOffsets(offsets);
    await transaction.commit();
    expect(coordinator.calls).toEqual([
      'InitProducerId',
      ...['AddOffsetsToTxn', 'AddOffsetsToTxn', 'AddOffsetsToTxn'],
      'TxnOffsetCommit',
      'EndTxn',
    ]);
  });

  it('does not retry a fenced producer: the error comes back at once', async () => {
    const coordinator = new FakeCoordinator('a');
    const transaction = await producerOn(coordinator).transaction();
    coordinator.failNext('AddOffsetsToTxn', 47); // INVALID_PRODUCER_EPOCH: another owner took the id
    await expect(transaction.addOffsets('g')).rejects.toThrow(/epoch/i);
    expect(coordinator.calls).toEqual(['InitProducerId', 'AddOffsetsToTxn']);
  });
});

describe('kafkajs request queue (patched)', () => {
  const sent: number[] = [];
  let queue: RequestQueueLike;
  let checks = 0;

  const request = (correlationId: number) => ({
    entry: {
      correlationId,
      apiName: 'Fetch',
      apiKey: 1,
      apiVersion: 11,
      resolve: () => undefined,
      reject: () => undefined,
    },
    expectResponse: true,
    sendRequest: () => sent.push(correlationId),
  });
  const answer = (correlationId: number) => queue.fulfillRequest({ correlationId, payload: Buffer.alloc(0), size: 0 });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** Timers run late on a busy box: up to 5 s, checked every 5 ms. */
  const soon = { timeoutMs: 5_000, intervalMs: 5 };

  beforeEach(() => {
    sent.length = 0;
    checks = 0;
    const noop = () => undefined;
    queue = new RequestQueue({
      maxInFlightRequests: 1,
      requestTimeout: 30_000,
      enforceRequestTimeout: false,
      clientId: 'spec',
      broker: 'broker:9092',
      logger: { debug: noop, info: noop, warn: noop, error: noop },
    });
    const check = queue.checkPendingRequests.bind(queue);
    queue.checkPendingRequests = () => {
      checks++;
      check();
    };
  });

  afterEach(() => queue.destroy());

  it('arms no timer once a request is answered and nothing waits', async () => {
    queue.push(request(1));
    answer(1);
    expect(sent).toEqual([1]);
    expect(queue.throttleCheckTimeoutId).toBeNull();
    const after = checks;
    await sleep(30);
    // Unpatched, a 1 ms timer called back here about 30 times by now, and for good.
    expect(checks).toBe(after);
  });

  it('still sends a request that waited for one in flight when that one is answered', async () => {
    queue.push(request(1));
    queue.push(request(2));
    expect(sent).toEqual([1]);
    answer(1);
    expect(sent).toEqual([1, 2]);
    answer(2);
    // The check armed while request 2 waited runs once more, and arms nothing after it.
    await eventually(() => expect(queue.throttleCheckTimeoutId).toBeNull(), soon);
    const after = checks;
    await sleep(30);
    expect(checks).toBe(after);
  });

  it("still sends a request held back by the broker's throttling once the throttle is over", async () => {
    queue.maybeThrottle(20);
    queue.push(request(1));
    expect(sent).toEqual([]);
    await eventually(() => expect(sent).toEqual([1]), soon);
  });
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const createSendMessages = require('kafkajs/src/producer/sendMessages') as (
  options: object,
) => (request: {
  acks: number;
  timeout?: number;
  topicMessages: Array<{ topic: string; messages: Array<{ value: string; partition: number }> }>;
}) => Promise<unknown>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createRetry = require('kafkajs/src/retry') as (options: object) => unknown;

describe('kafkajs sendBatch in a transaction, across brokers (patched)', () => {
  /** Two brokers, each the leader of one partition of `t`; `fail` is thrown by the next produce to broker 2. */
  const setUp = () => {
    const calls: string[] = [];
    const sequences = new Map<number, number>();
    const added = new Set<number>();
    let fail: Error | undefined;
    const broker = (nodeId: number, delayMs: number) => ({
      nodeId,
      produce: async ({ topicData }: { topicData: Array<{ partitions: Array<{ partition: number }> }> }) => {
        calls.push(`produce ${nodeId}`);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (nodeId === 2 && fail) {
          const error = fail;
          fail = undefined;
          throw error;
        }
        const partitions = topicData[0]!.partitions.map(({ partition }) => ({
          partition,
          errorCode: 0,
          baseOffset: '0',
        }));
        return { topics: [{ topicName: 't', partitions }] };
      },
    });
    const brokers = new Map([
      [1, broker(1, 30)],
      [2, broker(2, 0)],
    ]);
    const cluster = {
      refreshMetadataIfNecessary: async () => undefined,
      refreshMetadata: async () => undefined,
      addMultipleTargetTopics: async () => undefined,
      isConnected: () => true,
      findTopicPartitionMetadata: () => [
        { partitionId: 0, leader: 1 },
        { partitionId: 1, leader: 2 },
      ],
      findLeaderForPartitions: (_topic: string, partitions: string[]) => {
        const byLeader: Record<number, number[]> = {};
        for (const partition of partitions.map(Number)) (byLeader[partition === 0 ? 1 : 2] ??= []).push(partition);
        return byLeader;
      },
      findBroker: async ({ nodeId }: { nodeId: string }) => brokers.get(Number(nodeId)),
    };
    const eosManager = {
      isTransactional: () => true,
      // As kafkajs's: only partitions not in the transaction yet make a request.
      addPartitionsToTransaction: async (topicData: Array<{ partitions: Array<{ partition: number }> }>) => {
        const partitions = topicData.flatMap((t) => t.partitions.map((p) => p.partition)).filter((p) => !added.has(p));
        for (const partition of partitions) added.add(partition);
        if (partitions.length) calls.push(`addPartitions ${partitions.join(',')}`);
      },
      acquireBrokerLock: async () => undefined,
      releaseBrokerLock: async () => undefined,
      getSequence: (_topic: string, partition: number) => sequences.get(partition) ?? 0,
      updateSequence: (_topic: string, partition: number, increment: number) =>
        sequences.set(partition, (sequences.get(partition) ?? 0) + increment),
      getTransactionalId: () => 'txn',
      getProducerId: () => 1,
      getProducerEpoch: () => 0,
    };
    const logger = { debug: () => undefined, error: () => undefined, info: () => undefined, warn: () => undefined };
    const send = createSendMessages({
      logger,
      cluster,
      partitioner: ({ message }: { message: { partition: number } }) => message.partition,
      eosManager,
      retrier: createRetry({ retries: 3, initialRetryTime: 1 }),
    });
    return {
      calls,
      sequences,
      failNext: (error: Error) => (fail = error),
      send: () =>
        send({
          acks: -1,
          topicMessages: [
            {
              topic: 't',
              messages: [
                { value: 'a', partition: 0 },
                { value: 'b', partition: 1 },
              ],
            },
          ],
        }),
    };
  };

  it('adds all partitions in one AddPartitionsToTxn, then produces to each broker', async () => {
    const { calls, send } = setUp();
    await send();
    expect(calls).toEqual(['addPartitions 0,1', 'produce 1', 'produce 2']);
  });

  it('re-sends only to the broker that failed, not to one whose request was still in flight (no record written twice)', async () => {
    const { calls, sequences, failNext, send } = setUp();
    // Broker 2 fails at once (a retriable error) while broker 1's request is in flight.
    failNext(new KafkaJSProtocolError(createErrorFromCode(6)));
    await send();
    expect(calls.filter((call) => call === 'produce 1')).toHaveLength(1);
    expect(calls.filter((call) => call === 'produce 2')).toHaveLength(2);
    // One record each: partition 0 written once, partition 1's failed send rolled back and sent again.
    expect([...sequences]).toEqual([
      [0, 1],
      [1, 1],
    ]);
  });
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch(options: object): Promise<{ buffer: Buffer }>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: object) => {
  buffer: Buffer;
  size(): number;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const encodeRequest = require('kafkajs/src/protocol/request') as (request: object) => Promise<{ buffer: Buffer }>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const produceRequest = require('kafkajs/src/protocol/requests/produce/v3/request') as (options: object) => object;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Long = require('kafkajs/src/utils/long') as { fromInt(value: number): unknown };

describe('kafkajs record encoding (patched: sized buffers)', () => {
  const T0 = 1_700_000_000_000;
  /** Records around and beyond the old 512-byte encoders: empty, multi-byte, with and without headers and keys. */
  const messages = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      key: i % 3 === 0 ? null : `store-${i}`,
      value: i % 5 === 0 ? Buffer.alloc(0) : 'é'.repeat(i * 37),
      timestamp: T0 + i,
      headers:
        i % 2
          ? {
              traceparent: `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`,
              type: Buffer.from('receipt.recorded'),
              many: ['1', '22'],
            }
          : {},
    }));
  const digest = (buffer: Buffer) => `${buffer.length} ${createHash('sha256').update(buffer).digest('hex')}`;

  // The digests are those of unpatched kafkajs 2.2.4 for the same input (computed once with it).
  it('encodes a record batch and a produce request byte for byte as unpatched kafkajs did', async () => {
    const records = messages(40).map((m, i) => Record({ ...m, offsetDelta: i, timestampDelta: m.timestamp - T0 }));
    const batch = await RecordBatch({
      records,
      firstTimestamp: T0,
      maxTimestamp: T0 + 39,
      lastOffsetDelta: 39,
      transactional: true,
      producerId: Long.fromInt(7),
      producerEpoch: 3,
      firstSequence: 11,
    });
    expect(digest(batch.buffer)).toBe('50071 69753c32f42327e6e84d1b92ecc7e95d05dc63a4c64c5765d5a8c3a283f96ba9');
    const request = await encodeRequest({
      correlationId: 9,
      clientId: 'spec',
      request: produceRequest({
        acks: -1,
        timeout: 30_000,
        transactionalId: 'lastmeter.t',
        producerId: Long.fromInt(7),
        producerEpoch: 3,
        topicData: [
          { topic: 'events', partitions: [{ partition: 2, firstSequence: 11, messages: messages(40) }] },
          { topic: 'feed', partitions: [{ partition: 0, firstSequence: 0, messages: messages(1) }] },
        ],
      }),
    });
    expect(digest(request.buffer)).toBe('50218 c97d27663f8671e4000b838d4a7fd50310f7833810bcf22883ee756a0c2f55f1');
  });

  it('encodes a record into one buffer of its size, its headers included (no buffer per header, no regrowth)', () => {
    const { headers } = messages(2)[1]!;
    const allocUnsafe = jest.spyOn(Buffer, 'allocUnsafe');
    const alloc = jest.spyOn(Buffer, 'alloc');
    try {
      const record = Record({ key: 'store-1', value: 'x'.repeat(2_000), headers });
      expect(allocUnsafe).toHaveBeenCalledTimes(1);
      expect(alloc).not.toHaveBeenCalled();
      expect(record.size()).toBeGreaterThan(2_000);
    } finally {
      allocUnsafe.mockRestore();
      alloc.mockRestore();
    }
  });
});

describe('kafkajs groupMessagesPerPartition (patched: one pass)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition') as (args: {
    topic: string;
    partitionMetadata: Array<{ partitionId: number }>;
    messages: Array<{ key: string; n: number }>;
    partitioner: (args: { message: { key: string } }) => number;
  }) => Record<string, Array<{ key: string; n: number }>>;
  const partitionMetadata = Array.from({ length: 12 }, (_, partitionId) => ({ partitionId }));
  const partitioner = ({ message }: { message: { key: string } }) => Number(message.key.slice(6)) % 12;

  it('groups a send of 2,000 messages by partition, each group in the order given, every message once', () => {
    const messages = Array.from({ length: 2_000 }, (_, n) => ({ key: `store-${(n * 7) % 97}`, n }));
    const groups = groupMessagesPerPartition({ topic: 'facts', partitionMetadata, messages, partitioner });
    expect(
      Object.keys(groups)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 12 }, (_, p) => p));
    for (const [partition, group] of Object.entries(groups)) {
      expect(group.every((message) => partitioner({ message }) === Number(partition))).toBe(true);
      expect(group.map(({ n }) => n)).toEqual([...group.map(({ n }) => n)].sort((a, b) => a - b));
    }
    expect(
      Object.values(groups)
        .flat()
        .map(({ n }) => n)
        .sort((a, b) => a - b),
    ).toEqual(messages.map(({ n }) => n));
  });

  it('hands each message to the partitioner once, and nothing when the topic has no partitions known', () => {
    const seen: string[] = [];
    const counting = ({ message }: { message: { key: string } }) => (seen.push(message.key), 0);
    const messages = [
      { key: 'store-1', n: 0 },
      { key: 'store-2', n: 1 },
    ];
    expect(groupMessagesPerPartition({ topic: 'facts', partitionMetadata, messages, partitioner: counting })).toEqual({
      0: messages,
    });
    expect(seen).toEqual(['store-1', 'store-2']);
    expect(
      groupMessagesPerPartition({ topic: 'facts', partitionMetadata: [], messages, partitioner: counting }),
    ).toEqual({});
    expect(seen).toHaveLength(2);
  });
});

describe('kafkajs record batch checksum (patched: CRC-32C from @node-rs/crc32)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const checksum = require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const table = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C') as (buffer: Buffer) => number;

  it('loads the native CRC-32C here (its prebuilt binary for this platform is installed)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { crc32c } = require('@node-rs/crc32') as { crc32c: (buffer: Buffer) => number };
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it("computes a record batch's checksum with the native CRC-32C when it loads", () => {
    const crc32c = jest.fn((buffer: Buffer) => table(buffer));
    jest.isolateModules(() => {
      jest.doMock('@node-rs/crc32', () => ({ crc32c }));
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const wired = require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;
      const buffer = randomBytes(100);
      expect(wired(buffer)).toBe(table(buffer));
      expect(crc32c).toHaveBeenCalledWith(buffer);
    });
    jest.dontMock('@node-rs/crc32');
  });

  it("gives the CRC-32C check value and kafkajs's own table's value for buffers from empty to 64 KiB", () => {
    expect(checksum(Buffer.from('123456789'))).toBe(0xe3069283);
    for (const size of [0, 1, 7, 8, 9, 63, 1_000, 4_096, 15_001, 65_536]) {
      const buffer = randomBytes(size);
      expect(checksum(buffer)).toBe(table(buffer));
    }
  });
});
