import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type Redis from 'ioredis';
import { createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { storeActivityJson, type Actor, type TopicNames } from '@lastmeter/contracts';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { KAFKA, LazyProducer, TOPIC_NAMES, type Kafka } from '@lastmeter/kafka';
import { RedisKeys, surveyPersonKeys } from '@lastmeter/read-models';
import { REDIS } from '@lastmeter/redis';
import { NotConfirmed } from './fact-batcher';
import { ActivityInFlight } from './store-activity-writer';

const HOUR_MS = 3_600_000;

interface Held {
  storeId: string;
  communicationId: string;
  revision: number;
  answers: Array<number | string>;
  token: string;
  done: (error?: Error) => void;
}

/**
 * Anonymous pulse survey answers (issue 21, docs/privacy.md).
 *
 * - **Once per person, without storing who answered what.** Each survey has a random key
 *   in Redis; a person's answer is known by HMAC(key, staff id) only, kept in a set. The
 *   key and the set are deleted when the survey closes (the projector does it on
 *   `communication.retracted` or `expired`), after which nothing links an answer to anyone.
 * - **Facts without a person.** `survey.answered` carries the store and the answers; its
 *   actor is `anonymous`, its id random, its time (and the Kafka record's timestamp)
 *   rounded down to the hour.
 * - **Batches.** Answers are held until SURVEY_BATCH_MIN are waiting or the oldest has
 *   waited SURVEY_BATCH_MS, then written shuffled in one produce, so their order in the log
 *   cannot be matched to sign-ins. The tablet's ack comes after: an answer held by a
 *   gateway that dies was never acked, and the tablet sends it again.
 */
@Injectable()
export class SurveyBatcher implements OnModuleDestroy {
  private readonly logger = new Logger(SurveyBatcher.name);
  private readonly producer: LazyProducer;
  private readonly keys: RedisKeys;
  private held: Held[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig<'gateway'>,
  ) {
    this.producer = new LazyProducer(kafka);
    this.keys = new RedisKeys(config.REDIS_KEY_PREFIX);
  }

  /** Records a person's answers once; resolves when they are in Kafka (or were before). */
  async submit(answer: Omit<Held, 'token' | 'done'> & { staffId: string }): Promise<{ duplicate: boolean }> {
    const person = surveyPersonKeys(this.keys, answer.communicationId);
    const token = createHmac('sha256', await this.surveyKey(person.key))
      .update(answer.staffId)
      .digest('base64url');
    if ((await this.redis.sismember(person.answered, token)) === 1) return { duplicate: true };
    // Held for a batch: another answer of the same person waits for this one's outcome.
    const holdS = Math.ceil(this.config.SURVEY_BATCH_MS / 1000) + 60;
    if ((await this.redis.set(person.pending(token), '1', 'EX', holdS, 'NX')) !== 'OK') {
      throw new ActivityInFlight();
    }
    const { staffId: _who, ...anonymous } = answer;
    await new Promise<void>((resolve, reject) => {
      this.held.push({ ...anonymous, token, done: (error) => (error ? reject(error) : resolve()) });
      if (this.held.length >= this.config.SURVEY_BATCH_MIN) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.config.SURVEY_BATCH_MS);
    });
    return { duplicate: false };
  }

  /** The survey's key, made by the first answer (and gone once the survey closes). */
  private async surveyKey(key: string): Promise<Buffer> {
    await this.redis.set(key, randomBytes(32).toString('base64url'), 'NX');
    return Buffer.from((await this.redis.get(key))!, 'base64url');
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.held;
    this.held = [];
    if (batch.length === 0) return;
    // Fisher–Yates: the log's order says nothing about who answered first.
    for (let i = batch.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [batch[i], batch[j]] = [batch[j]!, batch[i]!];
    }
    const hour = new Date(Math.floor(Date.now() / HOUR_MS) * HOUR_MS);
    try {
      await this.producer.sendRecords(
        this.topics.storeEvents,
        batch.map(({ storeId, communicationId, revision, answers }) => {
          const actor: Actor = { id: 'anonymous', role: 'terminal', storeId };
          const data = { storeId, communicationId, revision, answers };
          return {
            key: storeId,
            value: storeActivityJson('survey.answered', randomUUID(), actor, data, hour.toISOString()),
            headers: { type: 'survey.answered' },
            timestamp: String(hour.getTime()),
          };
        }),
      );
      const pipeline = this.redis.pipeline();
      for (const held of batch) {
        const person = surveyPersonKeys(this.keys, held.communicationId);
        pipeline.sadd(person.answered, held.token).del(person.pending(held.token));
      }
      await pipeline.exec();
      for (const held of batch) held.done();
    } catch (error) {
      this.logger.warn(`survey answers not written, the tablets send them again: ${(error as Error).message}`);
      const pipeline = this.redis.pipeline();
      for (const held of batch) pipeline.del(surveyPersonKeys(this.keys, held.communicationId).pending(held.token));
      await pipeline.exec().catch(() => undefined);
      for (const held of batch) held.done(new NotConfirmed());
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.flush();
    await this.producer.disconnect();
  }
}
