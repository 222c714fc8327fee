/**
 * Where a keyed record lands without producing it: the partition the producers here pick
 * for `key` (kafkajs' Java-compatible murmur2 partitioner, named in producers.ts) on a
 * topic of `partitions` partitions. The command service decides a command in its request
 * only if that partition is one it owns (PartitionDecider.decideInRequest), as the decider
 * of the partition a produce would have put it on.
 */
import { Partitioners, type Admin, type PartitionMetadata } from 'kafkajs';

const partitioner = Partitioners.DefaultPartitioner();
/** Partition metadata by partition count: the partitioner only reads their ids. */
const metadata = new Map<number, PartitionMetadata[]>();

export function keyPartition(key: string, partitions: number): number {
  let partitionMetadata = metadata.get(partitions);
  if (!partitionMetadata) {
    partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
    metadata.set(partitions, partitionMetadata);
  }
  return partitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}

/** How many partitions `topic` has, as the cluster says now. */
export async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const count = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
  if (count === 0) throw new Error(`topic ${topic} has no partitions`);
  return count;
}
