import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { CURRENT_SCHEMA_VERSIONS, topicNames, type AggregateType, type DomainEvent } from '@lastmeter/contracts';
import { KafkaJSNonRetriableError } from 'kafkajs';
import { ACKS_ALL, createKafkaClient, createProducer, ensureTopicsAt } from '@lastmeter/kafka';
import { AggregateStore, CredentialStore, EventTail, FeedLedger, WriteMetrics } from '@lastmeter/write-engine';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { eventually } from '../support/eventually';

/**
 * The command service's event tail follows the log with a Kafka consumer of its own
 * group, which commits no offsets. When kafkajs gives up on that consumer (a batch that
 * kept failing, a broker gone past its retries), the tail must follow on from where it
 * was: every event folded exactly once, none missed, and its catch-ups answered again.
 * Real Kafka; the failure is injected in the store the tail folds into (its Redis reads).
 */
const ns = testNamespace('event-tail', { KAFKA_PARTITIONS: '1' });
const names = topicNames(ns.topicPrefix);
const brokers = ns.env.KAFKA_BROKERS!.split(',');
const kafka = createKafkaClient({ brokers, clientId: 'event-tail-test' });

afterAll(() => cleanupNamespace(ns));

/** An AggregateStore whose loads fail on demand, counting the events folded into it. */
class FailingStore extends AggregateStore {
  failWith?: () => Error;
  failures = 0;
  readonly applied = new Map<string, number>();

  override async load(keys: Iterable<readonly [AggregateType, string]>): Promise<void> {
    if (this.failWith) {
      this.failures++;
      throw this.failWith();
    }
    return super.load(keys);
  }

  override apply(event: DomainEvent, partition: number): boolean {
    this.applied.set(event.id, (this.applied.get(event.id) ?? 0) + 1);
    return super.apply(event, partition);
  }
}

function regionDefined(regionId: string, version: number): DomainEvent {
  return {
    id: randomUUID(),
    type: 'region.defined',
    schemaVersion: CURRENT_SCHEMA_VERSIONS['region.defined'],
    aggregateType: 'region',
    aggregateId: regionId,
    aggregateVersion: version,
    occurredAt: new Date().toISOString(),
    actor: { id: 'tester', role: 'hq-admin' },
    commandId: randomUUID(),
    correlationId: randomUUID(),
    causationId: randomUUID(),
    data: { code: `R${version}`, name: `Region ${version}` },
  } as DomainEvent;
}

async function restarts(registry: Registry): Promise<number> {
  const metric = await registry.getSingleMetric('lastmeter_event_tail_restarts_total')!.get();
  return metric.values[0]?.value ?? 0;
}

describe.each([
  ['a batch that keeps failing (kafkajs retries it, then gives up)', () => new Error('Redis unreachable (injected)')],
  ['a non-retriable error (kafkajs stops the consumer at once)', () => new KafkaJSNonRetriableError('injected')],
])('the event tail after %s', (_, failure) => {
  it('follows on from where it was: nothing folded twice, nothing missed, catch-ups answered', async () => {
    await ensureTopicsAt(brokers, names, { partitions: 1, replicationFactor: 1 });
    const registry = new Registry();
    const store = new FailingStore();
    const tail = new EventTail(
      kafka,
      names,
      store,
      new FeedLedger(),
      new CredentialStore(),
      { ready: async () => undefined } as never,
      new WriteMetrics(registry),
    );
    const producer = createProducer(kafka);
    await producer.connect();
    const region = `r-${randomUUID()}`;
    const write = (events: DomainEvent[]) =>
      producer.send({
        topic: names.events,
        acks: ACKS_ALL,
        messages: events.map((event) => ({ key: event.aggregateId, value: JSON.stringify(event) })),
      });
    try {
      const before = [1, 2, 3].map((version) => regionDefined(region, version));
      await write(before);
      await tail.start();
      await tail.catchUp();
      expect(before.map((event) => store.applied.get(event.id))).toEqual([1, 1, 1]);

      // The next events cannot be folded (their loads fail) until kafkajs gives up on the consumer.
      store.failWith = failure;
      const after = [4, 5, 6].map((version) => regionDefined(region, version));
      await write(after);
      await eventually(async () => expect(await restarts(registry)).toBeGreaterThan(0), { timeoutMs: 60_000 });
      expect(store.failures).toBeGreaterThan(0);
      store.failWith = undefined;

      await tail.catchUp();
      // A consumer that started over from the group's (absent) commits would fold 1–3 again.
      expect([...before, ...after].map((event) => store.applied.get(event.id))).toEqual([1, 1, 1, 1, 1, 1]);
      expect(store.get('region', region).version).toBe(6);
      // And it goes on following.
      const later = regionDefined(region, 7);
      await write([later]);
      await tail.catchUp();
      expect(store.applied.get(later.id)).toBe(1);
      expect(store.get('region', region).version).toBe(7);
    } finally {
      await producer.disconnect();
      await tail.onApplicationShutdown();
    }
  }, 120_000);
});
