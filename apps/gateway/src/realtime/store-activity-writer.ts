import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import * as crypto from 'node:crypto';
import { Counter, Gauge } from 'prom-client';
import {
  storeActivityJson,
  type Actor,
  type DomainEvent,
  type EventDataByType,
  type TopicNames,
} from '@lastmeter/contracts';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { BatchProducer, KAFKA, TOPIC_NAMES, type Kafka } from '@lastmeter/kafka';
import { MetricsRegistry } from '@lastmeter/platform';
import { FactClaims, REDIS } from '@lastmeter/redis';
import { FactBatcher, type FactCallback } from './fact-batcher';

/** Namespace of store-activity fact ids: the same fact always gets the same id. */
const ACTIVITY_IDS = '3d0c8f1e-2b7a-4f5e-9c61-7a2d9e4b5f10';
const ACTIVITY_NAMESPACE = Buffer.from(ACTIVITY_IDS.replace(/-/g, ''), 'hex');
/** `crypto.hash` (Node 20.12+): a one-shot digest without a Hash object. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer }).hash;
/** The namespace followed by the name, reused by every id (the name is written after the namespace). */
const idInput = Buffer.alloc(4_096);
ACTIVITY_NAMESPACE.copy(idInput);

/**
 * A fact's id: the UUID v5 of its identity parts joined by `/` in the ACTIVITY_IDS
 * namespace (what `uuid`'s v5 gives, computed with one native one-shot hash over a
 * reused buffer instead of its byte-by-byte string conversion and Hash object: one per
 * receipt, tens of thousands a second).
 */
export function activityFactId(...identity: string[]): string {
  const name = identity.join('/');
  let hash: Buffer;
  if (oneShotHash && Buffer.byteLength(name) <= idInput.length - 16) {
    const end = 16 + idInput.write(name, 16, 'utf8');
    hash = oneShotHash('sha1', idInput.subarray(0, end), 'buffer');
  } else {
    hash = crypto.createHash('sha1').update(ACTIVITY_NAMESPACE).update(name, 'utf8').digest();
  }
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `new Date().toISOString()`, made once per millisecond (thousands of facts share one). */
let clock = { ms: 0, iso: '' };
function nowIso(): string {
  const ms = Date.now();
  if (ms !== clock.ms) clock = { ms, iso: new Date(ms).toISOString() };
  return clock.iso;
}
/** The same fact is being written by another request (a concurrent resend). */
export { FactInFlight as ActivityInFlight } from '@lastmeter/redis';
export { NotConfirmed, WriterBusy } from './fact-batcher';

type ActivityType =
  'receipt.delivered' | 'receipt.read' | 'receipt.acknowledged' | 'task.completed' | 'quiz.answered' | 'report.filed';

/**
 * Writes store activity to lastmeter.store-events.v1 (keyed by store id, acks=all), once
 * per fact. A fact's id is derived from what makes it the same fact (terminal, kind,
 * communication, revision), and a Redis claim (`SET NX`) makes a retry, even on another
 * gateway, answer "already recorded" instead of writing it again. The claim becomes
 * permanent only after Kafka has the fact; if the write fails, it is released.
 *
 * Every fact goes through one FactBatcher (issue 16): facts arriving within a few ms are
 * claimed in one Redis pipeline and written in one Kafka send, and each is answered
 * after Kafka acked the send. The producer is BatchProducer (idempotent, one send at a
 * time; see its comment for why this path differs from the command path's LazyProducer):
 * a batch retried by kafkajs after a timeout must not put its facts in the log twice,
 * and the bound a terminal needs is on its answer (FactBatcher's 10 s deadline, then
 * "not confirmed, resend"), not on the send, since a resent fact is recognised by its
 * claim. Beyond 60,000 facts waiting (about 90 MB, and what a 2-core machine writes in
 * well under the deadline), a fact is held for up to 3 s until there is room, up to
 * 60,000 more; then, or beyond those, it is answered busy (retryable).
 */
@Injectable()
export class StoreActivityWriter implements OnApplicationShutdown {
  private readonly logger = new Logger(StoreActivityWriter.name);
  private readonly producer: BatchProducer;
  private readonly claims: FactClaims;
  private readonly batcher: FactBatcher;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(REDIS) redis: Redis,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(APP_CONFIG) config: SharedConfig,
    registry: MetricsRegistry,
  ) {
    this.producer = new BatchProducer(kafka);
    this.claims = new FactClaims(redis, config.REDIS_KEY_PREFIX);
    const written = new Counter({
      name: 'lastmeter_gateway_facts_written_total',
      help: 'Store facts this gateway wrote to Kafka (acked sends)',
      registers: [registry],
    });
    const sends = new Counter({
      name: 'lastmeter_gateway_fact_sends_total',
      help: 'Kafka sends of store facts (each a batch of facts) this gateway had acked',
      registers: [registry],
    });
    this.batcher = new FactBatcher(
      { send: (messages) => this.producer.send(this.topics.storeEvents, messages) },
      this.claims,
      {},
      {
        sent: (facts) => {
          written.inc(facts);
          sends.inc();
        },
        warn: (message) => this.logger.warn(message),
      },
    );
    const batcher = this.batcher;
    new Gauge({
      name: 'lastmeter_gateway_facts_buffered',
      help: 'Store facts accepted and not yet settled (queued, being claimed, or in Kafka)',
      registers: [registry],
      collect() {
        this.set(batcher.size);
      },
    });
  }

  /** How many more facts the writer takes right now; beyond it they are refused as busy. */
  get room(): number {
    return this.batcher.room;
  }

  factId(...identity: string[]): string {
    return activityFactId(...identity);
  }

  /** Whether the fact with this id was already recorded (a resend). */
  recorded(id: string): Promise<boolean> {
    return this.claims.recorded(id);
  }

  /** Records the fact once; `duplicate` when it was already recorded. */
  record<T extends ActivityType>(
    type: T,
    id: string,
    actor: Actor,
    data: EventDataByType[T] & { storeId: string },
  ): Promise<{ duplicate: boolean }> {
    return this.batcher.write({
      id,
      key: data.storeId,
      value: storeActivityJson(type, id, actor, data, nowIso()),
      type,
    });
  }

  /** `record` with a callback instead of a promise (many facts at once: a `receipts` message). */
  submit<T extends ActivityType>(
    type: T,
    id: string,
    actor: Actor,
    data: EventDataByType[T] & { storeId: string },
    done: FactCallback,
  ): void {
    this.batcher.submit(
      { id, key: data.storeId, value: storeActivityJson(type, id, actor, data, nowIso()), type },
      done,
    );
  }

  /** Facts that are not deduplicated (presence). */
  async send(storeId: string, event: DomainEvent): Promise<void> {
    await this.batcher.write({ key: storeId, value: JSON.stringify(event), type: event.type });
  }

  /** Facts already accepted get up to 5 s to reach Kafka before the producer closes. */
  async onApplicationShutdown(): Promise<void> {
    await this.batcher.drain(5_000);
    this.batcher.close();
    await this.producer.disconnect();
  }
}
