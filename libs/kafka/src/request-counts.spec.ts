import { EventEmitter } from 'node:events';
import type { Kafka } from 'kafkajs';
import { countRequests, kafkaRequestCounts } from './request-counts';

/** A kafkajs client's instrumentation events, without a broker. */
function fakeKafka() {
  const made: EventEmitter[] = [];
  const client = () => {
    const emitter = new EventEmitter();
    made.push(emitter);
    return Object.assign(emitter, { events: { REQUEST: 'producer.network.request' } });
  };
  return { kafka: { producer: client, consumer: client, admin: client } as unknown as Kafka, made };
}

describe('countRequests', () => {
  it('counts the requests of every producer, consumer and admin the client makes, by API', () => {
    const { kafka, made } = fakeKafka();
    const before = (api: string) => kafkaRequestCounts().get(api) ?? 0;
    const [produce, fetch] = [before('Produce'), before('Fetch')];
    countRequests(kafka);
    kafka.producer();
    kafka.consumer({ groupId: 'g' });
    kafka.admin();
    const request = (i: number, apiName: string) => made[i]!.emit('producer.network.request', { payload: { apiName } });
    request(0, 'Produce');
    request(0, 'Produce');
    request(1, 'Fetch');
    request(2, 'Produce');
    expect(before('Produce') - produce).toBe(3);
    expect(before('Fetch') - fetch).toBe(1);
  });
});
