import type { Admin } from '@lastmeter/kafka';

/**
 * Creates a benchmark's scratch topics (12 partitions, one replica) and waits until
 * every partition has a leader. kafkajs's `waitForLeaders` retries only
 * LEADER_NOT_AVAILABLE: a broker whose metadata has not caught up with the new topic
 * yet answers UNKNOWN_TOPIC_OR_PARTITION, which it threw (the harness on a busy CI run).
 * After that answer the metadata is asked again, until every partition has a leader,
 * for up to 30 s.
 */
export async function createScratchTopics(admin: Admin, topics: string[]): Promise<void> {
  try {
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: 12, replicationFactor: 1 })),
      waitForLeaders: true,
    });
    return;
  } catch (error) {
    if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    const led = await admin.fetchTopicMetadata({ topics }).then(
      ({ topics: found }) =>
        found.length === topics.length &&
        found.every((topic) => topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0)),
      () => false,
    );
    if (led) return;
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leaders after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
