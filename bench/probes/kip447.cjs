/* global Buffer, setTimeout, setInterval, clearInterval */
/**
 * A probe (not a scenario, not a test): can kafkajs take part in KIP-447's fencing?
 * Unpatched kafkajs sends TxnOffsetCommit v0/v1, which carry no consumer group generation
 * or member id. This sends TxnOffsetCommit v3 (flexible, with the generation and the
 * member id) by hand through kafkajs's own encoder and connection, and shows what the
 * broker does with a current member, a member that has left the group (a zombie) and an
 * unknown one. It led to our kafkajs patch's v3 (docs/adr/0005-kafkajs.md), which the
 * decisions that carry feed entries use (docs/write-side.md, "The feed in the decision").
 *
 * `npm run build`, then `node bench/probes/kip447.cjs` (starts a Kafka of its own).
 * Seen on 2026-12-02, Kafka 3.9.1: current generation accepted; the departed member's
 * old generation, and an unknown member, refused with UNKNOWN_MEMBER_ID.
 */
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const KAFKAJS = join(ROOT, 'node_modules', 'kafkajs', 'src');
const { Kafka, logLevel } = require('kafkajs');
const Encoder = require(join(KAFKAJS, 'protocol', 'encoder'));
const Decoder = require(join(KAFKAJS, 'protocol', 'decoder'));
const { failure, createErrorFromCode } = require(join(KAFKAJS, 'protocol', 'error'));
const apiKeys = require(join(KAFKAJS, 'protocol', 'requests', 'apiKeys'));
const Broker = require(join(KAFKAJS, 'broker'));
const { benchInfra, runMain } = require(join(ROOT, 'dist', 'bench', 'support.js'));

/**
 * TxnOffsetCommit v3 => transactional_id group_id producer_id producer_epoch
 * generation_id member_id group_instance_id [topics] TAG_BUFFER, compact strings and
 * arrays (flexible versions); the empty tag buffer first is the request header's.
 */
function txnOffsetCommitV3({ transactionalId, groupId, producerId, producerEpoch, generationId, memberId, topics }) {
  const partition = ({ partition: index, offset }) =>
    new Encoder().writeInt32(index).writeInt64(offset).writeInt32(-1).writeUVarIntString(null).writeUVarIntBytes();
  const topic = ({ topic: name, partitions }) =>
    new Encoder().writeUVarIntString(name).writeUVarIntArray(partitions.map(partition)).writeUVarIntBytes();
  return {
    apiKey: apiKeys.TxnOffsetCommit,
    apiVersion: 3,
    apiName: 'TxnOffsetCommit',
    encode: async () =>
      new Encoder()
        .writeUVarIntBytes()
        .writeUVarIntString(transactionalId)
        .writeUVarIntString(groupId)
        .writeInt64(producerId)
        .writeInt16(producerEpoch)
        .writeInt32(generationId)
        .writeUVarIntString(memberId)
        .writeUVarIntString(null)
        .writeUVarIntArray(topics.map(topic))
        .writeUVarIntBytes(),
  };
}

const txnOffsetCommitV3Response = {
  decode: async (raw) => {
    const decoder = new Decoder(raw);
    decoder.readTaggedFields();
    const throttleTime = decoder.readInt32();
    const topics = decoder.readUVarIntArray((t) => {
      const name = t.readUVarIntString();
      const partitions = t.readUVarIntArray((p) => {
        const result = { partition: p.readInt32(), errorCode: p.readInt16() };
        p.readTaggedFields();
        return result;
      });
      t.readTaggedFields();
      return { topic: name, partitions };
    });
    return { throttleTime, topics };
  },
  parse: async (data) => {
    for (const { partitions } of data.topics) {
      for (const { errorCode } of partitions) if (failure(errorCode)) throw createErrorFromCode(errorCode);
    }
    return data;
  },
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function probe(brokers) {
  const kafka = new Kafka({ brokers: [brokers], clientId: 'probe-kip447', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const suffix = Date.now().toString(36);
  const topic = `kip447-in-${suffix}`;
  const out = `kip447-out-${suffix}`;
  const groupId = `kip447-${suffix}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }, { topic: out }], waitForLeaders: true });

  // A cluster of kafkajs's own, to speak the group protocol by hand (JoinGroup, SyncGroup).
  const createCluster = Object.getOwnPropertySymbols(kafka).find((s) => s.toString().includes('createCluster'));
  const cluster = kafka[createCluster]({ metadataMaxAge: 300_000 });
  await cluster.connect();
  const protocols = [{ name: 'RoundRobinAssigner', metadata: Buffer.alloc(0) }];
  let coordinator;
  const joinGroup = () =>
    coordinator.joinGroup({ groupId, sessionTimeout: 10_000, rebalanceTimeout: 10_000, groupProtocols: protocols });
  // A new broker is still creating __consumer_offsets: retry until the coordinator answers.
  for (let attempt = 0; ; attempt++) {
    try {
      coordinator = await cluster.findGroupCoordinator({ groupId });
      await coordinator.joinGroup({ groupId: `${groupId}-warm`, sessionTimeout: 10_000, groupProtocols: protocols });
      break;
    } catch (error) {
      if (attempt > 60) throw error;
      await sleep(500);
    }
  }
  const send = [coordinator, Broker.prototype]
    .flatMap((o) => Object.getOwnPropertySymbols(o))
    .find((s) => s.toString().includes('sendRequest'));

  // The producer id and epoch are inside kafkajs's transaction manager: read them off its
  // first (v1) TxnOffsetCommit.
  let ids;
  const txnOffsetCommit = Broker.prototype.txnOffsetCommit;
  Broker.prototype.txnOffsetCommit = function (args) {
    ids = { transactionalId: args.transactionalId, producerId: args.producerId, producerEpoch: args.producerEpoch };
    return txnOffsetCommit.call(this, args);
  };
  const producer = kafka.producer({ transactionalId: `kip447-${suffix}`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const v3 = (member, offset) =>
    coordinator[send]({
      request: txnOffsetCommitV3({
        ...ids,
        groupId,
        generationId: member.generationId,
        memberId: member.memberId,
        topics: [{ topic, partitions: [{ partition: 0, offset }] }],
      }),
      response: txnOffsetCommitV3Response,
    });
  /** One transaction: a record, AddOffsetsToTxn (kafkajs, v1 offsets), then the v3 offsets of `member`. */
  const attempt = async (label, member, offset) => {
    const txn = await producer.transaction();
    await txn.send({ topic: out, messages: [{ value: label }] });
    await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset }] }] });
    try {
      await v3(member, String(Number(offset) + 1));
      await txn.commit();
      console.log(`${label}: accepted, committed`);
    } catch (error) {
      await txn.abort().catch(() => undefined);
      console.log(`${label}: refused (${error.type ?? error.message}), aborted`);
    }
  };

  const a = await joinGroup();
  await coordinator.syncGroup({ groupId, generationId: a.generationId, memberId: a.memberId, groupAssignment: [] });
  let alive = a;
  const heartbeats = setInterval(() => {
    const { generationId, memberId } = alive;
    coordinator.heartbeat({ groupId, groupGenerationId: generationId, memberId }).catch(() => undefined);
  }, 1_000);
  try {
    await attempt(`member A, generation ${a.generationId}`, a, '1');
    // A stops heartbeating and never rejoins (a process that hangs, then wakes up): B's
    // join completes once A is out, with the next generation.
    alive = { generationId: -1, memberId: '' };
    const b = await joinGroup();
    await coordinator.syncGroup({ groupId, generationId: b.generationId, memberId: b.memberId, groupAssignment: [] });
    alive = b;
    await attempt(`member B, generation ${b.generationId}`, b, '3');
    await attempt(`zombie A, generation ${a.generationId}`, a, '5');
    await attempt('unknown member, current generation', { generationId: b.generationId, memberId: 'nobody' }, '7');
  } finally {
    clearInterval(heartbeats);
    await producer.disconnect();
    await cluster.disconnect();
    await admin.disconnect();
  }
}

async function main() {
  const infra = await benchInfra();
  try {
    await probe(infra.brokers);
  } finally {
    await infra.stop();
  }
}

runMain(main);
