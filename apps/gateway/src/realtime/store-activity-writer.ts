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
import { REDIS } from '@lastmeter/redis';

/** Namespace of store-activity fact ids: the same fact always gets the same id. */
const ACTIVITY_IDS = '3d0c8f1e-2b7a-4f5e-9c61-7a2d9e4b5f10';
/** How long a claimed fact may stay "being written" before another attempt may take over. */
const CLAIM_MS = 15_000;
/** How long a written fact is remembered, so a late retry is still recognised. */
const REMEMBER_S = 30 * 24 * 3600;

type ActivityType =
  'receipt.delivered' | 'receipt.read' | 'receipt.acknowledged' | 'task.completed' | 'quiz.answered' | 'report.filed';

export class ActivityInFlight extends Error {
  constructor() {
    super('the same fact is being recorded by another request; retry shortly');
  }
}

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

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(APP_CONFIG) private readonly config: SharedConfig,
  ) {
    this.producer = new LazyProducer(kafka);
  }

  factId(...identity: string[]): string {
    return uuidv5(identity.join('/'), ACTIVITY_IDS);
  }

  /** Whether the fact with this id was already recorded (a resend). */
  async recorded(id: string): Promise<boolean> {
    return (await this.redis.get(`${this.config.REDIS_KEY_PREFIX}activity:${id}`)) === 'done';
  }

  /** Records the fact once; `duplicate` when it was already recorded. */
  async record<T extends ActivityType>(
    type: T,
    id: string,
    actor: Actor,
    data: EventDataByType[T] & { storeId: string },
  ): Promise<{ duplicate: boolean }> {
    const claim = `${this.config.REDIS_KEY_PREFIX}activity:${id}`;
    // The same fact sent twice at once: the second waits for the first to finish (or to
    // fail and release the claim, in which case it writes the fact itself).
    for (const deadline = Date.now() + CLAIM_MS; ;) {
      if ((await this.redis.set(claim, 'pending', 'PX', CLAIM_MS, 'NX')) === 'OK') break;
      if ((await this.redis.get(claim)) === 'done') return { duplicate: true };
      if (Date.now() > deadline) throw new ActivityInFlight();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const event = storeActivityEvent(type, id, actor, data) as DomainEvent;
    try {
      await this.send(data.storeId, event);
    } catch (error) {
      await this.redis.del(claim).catch(() => undefined);
      throw error;
    }
    await this.redis.set(claim, 'done', 'EX', REMEMBER_S);
    return { duplicate: false };
  }

  /** Facts that are not deduplicated (presence). */
  async send(storeId: string, event: DomainEvent): Promise<void> {
    await this.producer.send(this.topics.storeEvents, storeId, event);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
  }
}
