import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { v5 as uuidv5 } from 'uuid';
import {
  storeActivityEvent,
  type Actor,
  type DomainEvent,
  type EventDataByType,
  type TopicNames,
} from '@lastmeter/contracts';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { KAFKA, LazyProducer, TOPIC_NAMES, type Kafka } from '@lastmeter/kafka';
import { FactClaims, REDIS } from '@lastmeter/redis';

/** Namespace of store-activity fact ids: the same fact always gets the same id. */
const ACTIVITY_IDS = '3d0c8f1e-2b7a-4f5e-9c61-7a2d9e4b5f10';
/** The same fact is being written by another request (a concurrent resend). */
export { FactInFlight as ActivityInFlight } from '@lastmeter/redis';

type ActivityType =
  'receipt.delivered' | 'receipt.read' | 'receipt.acknowledged' | 'task.completed' | 'quiz.answered' | 'report.filed';

/**
 * Writes store activity to lastmeter.store-events.v1 (keyed by store id, acks=all), once
 * per fact. A fact's id is derived from what makes it the same fact (terminal, kind,
 * communication, revision), and a Redis claim (`SET NX`) makes a retry, even on another
 * gateway, answer "already recorded" instead of writing it again. The claim becomes
 * permanent only after Kafka has the fact; if the write fails, it is released.
 */
@Injectable()
export class StoreActivityWriter implements OnApplicationShutdown {
  private readonly producer: LazyProducer;
  private readonly claims: FactClaims;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(REDIS) redis: Redis,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(APP_CONFIG) config: SharedConfig,
  ) {
    this.producer = new LazyProducer(kafka);
    this.claims = new FactClaims(redis, config.REDIS_KEY_PREFIX);
  }

  factId(...identity: string[]): string {
    return uuidv5(identity.join('/'), ACTIVITY_IDS);
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
    return this.claims.once(id, () =>
      this.send(data.storeId, storeActivityEvent(type, id, actor, data) as DomainEvent),
    );
  }

  /** Facts that are not deduplicated (presence). */
  async send(storeId: string, event: DomainEvent): Promise<void> {
    await this.producer.send(this.topics.storeEvents, storeId, event);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
  }
}
