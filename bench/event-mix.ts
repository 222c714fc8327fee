import { randomUUID } from 'node:crypto';
import {
  CURRENT_SCHEMA_VERSIONS,
  type DomainEvent,
  type EventEnvelope,
  type TopicNames,
  type TopicRole,
} from '@lastmeter/contracts';
import { createProducer, type Kafka } from '@lastmeter/kafka';

function envelope(type: string, aggregateType: string, aggregateId: string, version: number, data: unknown) {
  return {
    id: randomUUID(),
    type,
    schemaVersion: CURRENT_SCHEMA_VERSIONS[type as keyof typeof CURRENT_SCHEMA_VERSIONS],
    aggregateType,
    aggregateId,
    aggregateVersion: version,
    occurredAt: new Date().toISOString(),
    actor: { id: 'bench', role: 'hq-editor' },
    commandId: randomUUID(),
    correlationId: randomUUID(),
    causationId: randomUUID(),
    data,
  } as EventEnvelope;
}

/**
 * Writes a busy chain's mix of events (mostly receipts, plus feed entries and
 * communication events) as fast as Kafka takes them; returns how many went where.
 */
export async function seedEventMix(
  kafka: Kafka,
  topics: TopicNames,
  total: number,
  { stores: storeCount = 500, communications: communicationCount = 200 } = {},
): Promise<{ counts: Record<string, number>; stores: string[] }> {
  const producer = createProducer(kafka);
  await producer.connect();
  const stores = Array.from({ length: storeCount }, () => randomUUID());
  const communications = Array.from({ length: communicationCount }, () => randomUUID());
  const heads = new Map<string, number>();
  const counts: Record<string, number> = { events: 0, feed: 0, storeEvents: 0 };
  let pending: Array<{ topic: TopicRole; key: string; value: string }> = [];
  const flush = async () => {
    const byTopic = new Map<TopicRole, Array<{ key: string; value: string }>>();
    for (const { topic, key, value } of pending) byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key, value }]);
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic: topics[topic], messages })),
    });
    pending = [];
  };
  const push = async (topic: TopicRole, key: string, event: EventEnvelope) => {
    pending.push({ topic, key, value: JSON.stringify(event) });
    counts[topic]++;
    if (pending.length >= 5_000) await flush();
  };
  // Communications: drafted + published.
  for (const id of communications) {
    const content = {
      kind: 'notice',
      title: `Notice ${id}`,
      body: 'Shelf labels',
      priority: 'normal',
      audience: { all: true },
    };
    await push('events', id, envelope('communication.drafted', 'communication', id, 1, { ...content, revision: 1 }));
    await push('events', id, envelope('communication.published', 'communication', id, 2, { revision: 1 }));
  }
  let written = communicationCount * 2;
  for (let i = 0; written < total; i++, written++) {
    const storeId = stores[i % storeCount];
    const communicationId = communications[(i * 7) % communicationCount];
    if (i % 20 === 0) {
      const feedSeq = (heads.get(storeId) ?? 0) + 1;
      heads.set(storeId, feedSeq);
      const communication = {
        id: communicationId,
        revision: 1,
        kind: 'notice',
        title: 'Notice',
        body: 'Shelf labels',
        priority: 'normal',
      };
      await push(
        'feed',
        storeId,
        envelope('feed.appended', 'feed', storeId, feedSeq, {
          storeId,
          feedSeq,
          change: 'published',
          communication,
          sourceVersion: 2,
        }),
      );
    } else {
      const kind = (['receipt.delivered', 'receipt.read', 'receipt.acknowledged'] as const)[i % 3];
      const terminalId = `t${i % 4}`;
      const receipt: DomainEvent = envelope(kind, 'store-activity', randomUUID(), 1, {
        storeId,
        terminalId,
        communicationId,
        revision: 1,
      }) as DomainEvent;
      await push('storeEvents', storeId, receipt);
    }
  }
  await flush();
  await producer.disconnect();
  return { counts, stores };
}
