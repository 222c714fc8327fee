import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { PERSON_KEY_RECORD, type PersonKeyRecord, type TopicNames } from '@lastmeter/contracts';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { KAFKA, LazyProducer, TOPIC_NAMES, type Kafka } from '@lastmeter/kafka';
import { PersonKeyMirror, RedisKeys } from '@lastmeter/read-models';
import { REDIS } from '@lastmeter/redis';
import { newPersonKey } from '@lastmeter/auth';

/**
 * The command service's side of lastmeter.person-keys.v1 (docs/privacy.md). A new
 * person's key is written (acks=all) and mirrored before the command that adds them, so
 * the command already holds the name sealed: no topic ever has it in clear. A key whose
 * command was refused is deleted again. Erasure's tombstone is not written here: it is in
 * the transaction of `staff.erased` (the partition writer).
 */
@Injectable()
export class PersonKeys implements OnApplicationShutdown {
  private readonly producer: LazyProducer;
  private readonly mirror: PersonKeyMirror;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(TOPIC_NAMES) private readonly topics: TopicNames,
    @Inject(REDIS) redis: Redis,
    @Inject(APP_CONFIG) config: SharedConfig,
  ) {
    this.producer = new LazyProducer(kafka);
    this.mirror = new PersonKeyMirror(redis, new RedisKeys(config.REDIS_KEY_PREFIX));
  }

  /** A new key for a new person, durable in Kafka and in the mirror when this resolves. */
  async create(personId: string, now: Date): Promise<Buffer> {
    const key = newPersonKey();
    const record: PersonKeyRecord = { key: key.toString('base64url'), createdAt: now.toISOString() };
    await this.producer.sendRecords(this.topics.personKeys, [
      { key: personId, value: JSON.stringify(record), headers: { type: PERSON_KEY_RECORD } },
    ]);
    await this.mirror.put(personId, key);
    return key;
  }

  /** New keys for many new persons (an import), in one produce and one Redis pipeline. */
  async createMany(personIds: readonly string[], now: Date): Promise<Map<string, Buffer>> {
    const keys = new Map(personIds.map((id) => [id, newPersonKey()] as const));
    if (keys.size === 0) return keys;
    const createdAt = now.toISOString();
    await this.producer.sendRecords(
      this.topics.personKeys,
      [...keys].map(([id, key]) => ({
        key: id,
        value: JSON.stringify({ key: key.toString('base64url'), createdAt } satisfies PersonKeyRecord),
        headers: { type: PERSON_KEY_RECORD },
      })),
    );
    await this.mirror.apply(new Map([...keys].map(([id, key]) => [id, key.toString('base64url')])));
    return keys;
  }

  /** The keys of these persons that have one (erased persons have none). */
  keysOf(personIds: readonly string[]): Promise<Map<string, Buffer>> {
    return this.mirror.keysOf(personIds);
  }

  /** Deletes a key that sealed nothing that was kept (its command was refused). */
  async discard(personId: string): Promise<void> {
    await this.producer.sendRecords(this.topics.personKeys, [
      { key: personId, value: null, headers: { type: PERSON_KEY_RECORD } },
    ]);
    await this.mirror.forget(personId);
  }

  /** The person's key, or undefined once they were erased. */
  keyOf(personId: string): Promise<Buffer | undefined> {
    return this.mirror.keyOf(personId);
  }

  /** Erasure took effect in the log: the read paths stop opening their fields now, not when the projector gets there. */
  forget(personId: string): Promise<void> {
    return this.mirror.forget(personId);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
  }
}
