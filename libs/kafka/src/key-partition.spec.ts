import { Partitioners } from 'kafkajs';
import { keyPartition } from './key-partition';

it("puts a key where kafkajs' default partitioner (murmur2, as the producers here) would", () => {
  const produce = Partitioners.DefaultPartitioner();
  for (const partitions of [1, 3, 12]) {
    const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 1,
      replicas: [1],
      isr: [1],
    }));
    for (let i = 0; i < 200; i++) {
      const key = `aggregate-${i}`;
      expect(keyPartition(key, partitions)).toBe(
        produce({ topic: 't', partitionMetadata, message: { key, value: 'v' } }),
      );
    }
  }
});

it('spreads keys over every partition', () => {
  const seen = new Set(Array.from({ length: 500 }, (_, i) => keyPartition(`store-${i}`, 12)));
  expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
});
