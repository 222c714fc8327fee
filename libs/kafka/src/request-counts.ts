import type { Kafka } from 'kafkajs';

/**
 * Kafka requests this process has sent, by API (Produce, Fetch, AddPartitionsToTxn…),
 * over every kafkajs client made by `createKafkaClient`: what the broker does for this
 * app. Read by the app's `/metrics` (`lastmeter_kafka_requests_total`).
 */
const counts = new Map<string, number>();

export function kafkaRequestCounts(): ReadonlyMap<string, number> {
  return counts;
}

type Instrumented = { on(event: string, listener: (e: { payload: { apiName: string } }) => void): unknown };

/** Counts the requests of every producer, consumer and admin that `kafka` makes. */
export function countRequests(kafka: Kafka): Kafka {
  for (const factory of ['producer', 'consumer', 'admin'] as const) {
    const make = kafka[factory].bind(kafka) as (...args: unknown[]) => Instrumented & { events: { REQUEST: string } };
    (kafka as unknown as Record<string, unknown>)[factory] = (...args: unknown[]) => {
      const client = make(...args);
      client.on(client.events.REQUEST, ({ payload }) => {
        counts.set(payload.apiName, (counts.get(payload.apiName) ?? 0) + 1);
      });
      return client;
    };
  }
  return kafka;
}
