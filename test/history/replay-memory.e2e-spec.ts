import { randomUUID } from 'node:crypto';
import { get } from 'node:http';
import { storeActivityEvent, topicNames } from '@lastmeter/contracts';
import { ACKS_ALL, createKafkaClient, createProducer, ensureTopicsAt } from '@lastmeter/kafka';
import { startApp, type RunningApp } from '../support/apps';
import { cleanupNamespace } from '../support/cleanup';
import { testNamespace } from '../support/env';
import { metric } from '../support/read-side';
import { tokenFor } from '../support/write-api';

/** A slow reader of GET /v1/events holds back Kafka reading: the gateway's heap stays bounded. */
const ns = testNamespace('replay-mem');
const topics = topicNames(ns.topicPrefix);
const EVENTS = 200_000;
const MB = 1024 * 1024;
let gateway: RunningApp;

beforeAll(async () => {
  const brokers = ns.env.KAFKA_BROKERS!.split(',');
  await ensureTopicsAt(brokers, topics, { partitions: 3, replicationFactor: 1 });
  const producer = createProducer(createKafkaClient({ brokers, clientId: 'replay-mem' }));
  await producer.connect();
  const stores = Array.from({ length: 30 }, () => randomUUID());
  const padding = 'x'.repeat(800);
  for (let from = 0; from < EVENTS; from += 1_000) {
    await producer.send({
      topic: topics.storeEvents,
      acks: ACKS_ALL,
      messages: Array.from({ length: 1_000 }, (_, i) => {
        const storeId = stores[(from + i) % stores.length];
        const event = storeActivityEvent(
          'report.filed',
          randomUUID(),
          { id: 'm', role: 'store-manager', storeId },
          {
            storeId,
            reportId: randomUUID(),
            title: `Report ${from + i}`,
            body: padding,
            authorId: 'm',
          },
        );
        return { key: storeId, value: JSON.stringify(event) };
      }),
    });
  }
  await producer.disconnect();
  gateway = await startApp('gateway', { ...ns.env, NODE_OPTIONS: '--max-old-space-size=512' });
}, 300_000);

afterAll(async () => {
  await gateway?.stop();
  await cleanupNamespace(ns);
});

it(`streams ${EVENTS} events (~${Math.round((EVENTS * 1_100) / MB)} MB) to a slow client with bounded gateway memory`, async () => {
  const heap = () => metric(gateway, 'nodejs_heap_size_used_bytes');
  const baseline = await heap();
  let peak = baseline;
  let lines = 0;
  await new Promise<void>((resolve, reject) => {
    const request = get(
      `${gateway.url}/v1/events`,
      { headers: { authorization: `Bearer ${tokenFor(ns, 'analyst')}` } },
      (response) => {
        expect(response.statusCode).toBe(200);
        let slow = true;
        // First the client barely reads (a few KB every 100 ms) for 8 s, then it catches up.
        response.pause();
        const trickle = setInterval(() => {
          if (slow) response.read(4_096);
        }, 100);
        setTimeout(() => {
          slow = false;
          clearInterval(trickle);
          response.resume();
        }, 8_000);
        // One sample at a time; the last one is awaited before the test ends, so none is
        // still asking a gateway that afterAll has stopped (an unhandled rejection).
        let sampling: Promise<void> = Promise.resolve();
        const sampler = setInterval(() => {
          sampling = sampling.then(() => heap().then((used) => void (peak = Math.max(peak, used))));
        }, 250);
        let tail = '';
        response.on('data', (chunk: Buffer) => {
          const text = tail + chunk.toString('utf8');
          const parts = text.split('\n');
          tail = parts.pop()!;
          lines += parts.length;
        });
        response.on('end', () => {
          clearInterval(sampler);
          sampling.then(resolve, reject);
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
  });
  expect(lines).toBe(EVENTS);
  // Buffering the stream would take well over 200 MB; the replay holds at most 5,000 events.
  expect(peak - baseline).toBeLessThan(96 * MB);
});
