import type { Admin, AdminConfig, Kafka } from 'kafkajs';

export type TopicOffsets = Awaited<ReturnType<Admin['fetchTopicOffsets']>>;

/** Kafka could not answer in time (a broker starting, a leader moving): a 503, retry shortly. */
export class KafkaUnavailable extends Error {
  override readonly name = 'KafkaUnavailable';
}

/** Seconds a client is told to wait after a KafkaUnavailable. */
export const KAFKA_UNAVAILABLE_RETRY_AFTER_S = 2;

/**
 * `admin.fetchTopicOffsets`, tried again while the cluster cannot answer yet. While a
 * broker starts or a partition's leader moves, kafkajs 2.2 may find no offsets for the
 * topic and throw a TypeError of its own ("Cannot destructure property 'partitions' of
 * 'high.pop(...)'"); a login or a catch-up a moment later succeeds. So: refresh the
 * topic's metadata and try again, `attempts` times, `delayMs` apart, then fail with
 * what happened (a 503 upstream, never that TypeError).
 */
export async function topicOffsets(
  admin: Admin,
  topic: string,
  options: { attempts?: number; delayMs?: number } = {},
): Promise<TopicOffsets> {
  const attempts = options.attempts ?? 10;
  const delayMs = options.delayMs ?? 200;
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      last = error;
      if (attempt === attempts) break;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    }
  }
  throw new KafkaUnavailable(
    `the offsets of ${topic} are not available yet: ${(last as Error)?.message ?? String(last)}`,
  );
}

/**
 * An admin client whose `fetchTopicOffsets` answers each partition's high watermark (the
 * end of the log, open transactions included) rather than its last stable offset: our
 * kafkajs patch lets `kafka.admin` read uncommitted. Used to wait for every transaction
 * open on a partition now to end.
 */
export function highWatermarkAdmin(kafka: Kafka): Admin {
  return kafka.admin({ readUncommitted: true } as AdminConfig);
}
