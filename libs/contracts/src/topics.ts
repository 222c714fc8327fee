/**
 * The Kafka topics of docs/design.md section 2. Names, keys and retention are part of the
 * public contract; partitions and replication are deployment settings (config).
 */
const DAY_MS = 24 * 60 * 60 * 1000;

export interface TopicDefinition {
  /** Name without the deployment's prefix (tests prefix topics per suite). */
  readonly name: string;
  readonly key: string;
  readonly purpose: string;
  /** Broker-side topic configs, exactly as Kafka expects them (strings). */
  readonly config: Readonly<Record<string, string>>;
}

export const TOPICS = {
  commands: {
    name: 'lastmeter.commands.v1',
    key: 'aggregate id',
    purpose: 'accepted commands awaiting decision',
    config: { 'cleanup.policy': 'delete', 'retention.ms': String(7 * DAY_MS) },
  },
  events: {
    name: 'lastmeter.events.v1',
    key: 'aggregate id',
    purpose: 'every domain event; the source of truth',
    config: { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'retention.bytes': '-1' },
  },
  storeEvents: {
    name: 'lastmeter.store-events.v1',
    key: 'store id',
    purpose: 'receipts, acks, task evidence, field reports, presence',
    config: { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'retention.bytes': '-1' },
  },
  feed: {
    name: 'lastmeter.feed.v1',
    key: '`feed.batch`: one feed batch record per writer transaction, in the partition of its stores (before issue 16: one entry per record, keyed by store id)',
    purpose: 'every store feed entry with its gap-free feedSeq, decided by the write side',
    config: { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'retention.bytes': '-1' },
  },
  credentials: {
    name: 'lastmeter.credentials.v1',
    key: 'user or terminal id',
    purpose: 'password and enrollment-code hashes, overwritten on change and deleted by tombstones; never replayed',
    // Compacted: only the latest record per key is kept, and a tombstone (null value)
    // removes the key after delete.retention.ms. Nothing here is history.
    config: { 'cleanup.policy': 'compact', 'delete.retention.ms': String(DAY_MS), 'min.compaction.lag.ms': '0' },
  },
  personKeys: {
    name: 'lastmeter.person-keys.v1',
    key: 'staff id',
    purpose:
      "each person's data key (AES-256-GCM) for the sealed personal fields of the log; a tombstone erases the person",
    // Compacted like the credentials: deleting a key is what erases a person. Compaction
    // only cleans closed segments, so segments close hourly and no record waits more than
    // a day for it: a deleted key is off the broker's disks within about a day (docs/privacy.md).
    config: {
      'cleanup.policy': 'compact',
      'delete.retention.ms': String(DAY_MS),
      'min.compaction.lag.ms': '0',
      'max.compaction.lag.ms': String(DAY_MS),
      'segment.ms': String(60 * 60 * 1000),
    },
  },
  dlq: {
    name: 'lastmeter.dlq.v1',
    key: 'original key',
    purpose: 'events a projector could not apply, with error',
    config: { 'cleanup.policy': 'delete', 'retention.ms': String(30 * DAY_MS) },
  },
} as const satisfies Record<string, TopicDefinition>;

export type TopicRole = keyof typeof TOPICS;

export const TOPIC_ROLES = Object.keys(TOPICS) as TopicRole[];

/** The concrete topic names of one deployment (or one test suite). */
export type TopicNames = Record<TopicRole, string>;

export function topicNames(prefix = ''): TopicNames {
  const names = {} as TopicNames;
  for (const role of TOPIC_ROLES) names[role] = `${prefix}${TOPICS[role].name}`;
  return names;
}
