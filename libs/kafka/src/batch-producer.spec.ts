import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { rememberingPartitioner } from './batch-producer';

const partitions = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));

describe('rememberingPartitioner', () => {
  it('places every key where the murmur2 partitioner does, for each partition count, asked once or many times', () => {
    const remembering = rememberingPartitioner();
    const plain = Partitioners.DefaultPartitioner();
    for (const count of [3, 12, 12, 7]) {
      for (let i = 0; i < 200; i++) {
        const args = {
          topic: 'store-events',
          partitionMetadata: partitions(count),
          message: { key: `store-${i % 50}`, value: '{}' },
        };
        expect(remembering(args)).toBe(plain(args));
      }
    }
  });
});
