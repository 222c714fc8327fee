/**
 * The names of the floor metrics that other scenarios read back from this run's result
 * files (`end-to-end` divides by them). One place, so a rename in the scenario that
 * writes a floor cannot silently drop the rows that read it. No side effects: the
 * scenario files themselves cannot be imported for this, importing one runs it.
 */
export const FLOOR_METRICS = {
  /** kafka-floor: one idempotent acks=all produce → consume. */
  kafkaP50: 'produce → consume p50',
  kafkaP99: 'produce → consume p99',
  kafkaAckedP50: 'produce acknowledged (acks=all) p50',
  /** kafka-floor: the write side's Kafka steps in bare kafkajs, the feed in the decision (the default). */
  chainP50: 'transactional chain (command → decision with the feed) p50',
  chainP99: 'transactional chain (command → decision with the feed) p99',
  /** kafka-floor: the same with the feed in a transaction after the decision (COMMAND_FEED_IN_DECISION=false). */
  splitChainP50: 'transactional chain (command → decision → feed) p50',
  /** fanout-floor: one bare Socket.IO broadcast to n connected clients. */
  socketIo: (n: number, quantile: 'p50' | 'p99'): string => `Socket.IO broadcast to ${n}, ${quantile}`,
} as const;
