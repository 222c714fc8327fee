import { newClusterId, serverProperties } from './kafka-broker';

describe('serverProperties', () => {
  const props = Object.fromEntries(
    serverProperties({ port: 19092, controllerPort: 19093, dataDir: '/data/kafka' })
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );

  it('describes a one-node KRaft broker+controller on loopback', () => {
    expect(props).toMatchObject({
      'process.roles': 'broker,controller',
      'node.id': '1',
      'controller.quorum.voters': '1@127.0.0.1:19093',
      listeners: 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:19092',
      'log.dirs': '/data/kafka/logs',
    });
  });

  it('replicates everything once, never auto-creates topics and rebalances without delay', () => {
    expect(props).toMatchObject({
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'auto.create.topics.enable': 'false',
      'group.initial.rebalance.delay.ms': '0',
    });
  });
});

describe('newClusterId', () => {
  it('is 22 URL-safe base64 characters not starting with a dash', () => {
    for (let i = 0; i < 200; i++) expect(newClusterId()).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});

describe('serverProperties of a node in a three-node cluster', () => {
  const props = Object.fromEntries(
    serverProperties({
      port: 29092,
      controllerPort: 29094,
      dataDir: '/data/kafka-2',
      cluster: { nodeId: 2, controllerPorts: [29093, 29094, 29095] },
    })
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );

  it('is its own node, one voter of a three-voter quorum', () => {
    expect(props).toMatchObject({
      'node.id': '2',
      'controller.quorum.voters': '1@127.0.0.1:29093,2@127.0.0.1:29094,3@127.0.0.1:29095',
      listeners: 'PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29094',
    });
  });

  it('replicates three times with two in sync, the internal topics too', () => {
    expect(props).toMatchObject({
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
      'offsets.topic.replication.factor': '3',
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
    });
  });
});
