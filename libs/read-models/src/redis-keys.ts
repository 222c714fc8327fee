/**
 * Every Redis key the project writes is built here, under the deployment's prefix
 * (REDIS_KEY_PREFIX) and a read-model generation, so a rebuild can project into a new
 * generation while the old one serves, and tests can share one Redis.
 */
export class RedisKeys {
  constructor(
    readonly prefix: string,
    readonly generation = 'g1',
  ) {}

  /** Keys that do not belong to a read-model generation (e.g. the live pointer). */
  meta(name: string): string {
    return `${this.prefix}meta:${name}`;
  }

  /**
   * Staff id → data key (base64url): the projector's mirror of lastmeter.person-keys.v1
   * (docs/privacy.md). Not a read model of a generation: it follows its own topic, and a
   * deleted field is an erased person.
   */
  get personKeys(): string {
    return this.meta('person-keys');
  }

  model(model: string, ...parts: string[]): string {
    return [`${this.prefix}${this.generation}`, model, ...parts].join(':');
  }

  /**
   * A key of the directory index (`directory-index.ts`). All of them carry one hash tag
   * per deployment (`{<prefix>dir}`, the same in every generation), so they live on one
   * Redis Cluster slot and the index may be read with multi-key commands and scripts.
   */
  index(...parts: string[]): string {
    return [`${this.prefix}${this.generation}`, `{${this.prefix}dir}`, ...parts].join(':');
  }

  /**
   * Where the projector got to in one partition of a projected topic, for this
   * generation: the next offset whose events Redis may not hold. Written after each
   * batch's writes on the same connection, so a Redis that lost its last writes (a
   * failover, an unsynced AOF, a FLUSHALL) lost this too, and the projector resumes here.
   */
  position(topic: string, partition: number): string {
    return `${this.prefix}meta:${this.generation}:position:${topic}:${partition}`;
  }

  /**
   * The token the projector's last feed pipeline of a partition ended with, which its
   * position raise checks (`lmPosition`). Tagged with the whole position key (which has
   * no braces), so that both are on one Redis Cluster slot.
   */
  fence(topic: string, partition: number): string {
    const position = this.position(topic, partition);
    return `${position}:fence{${position}}`;
  }

  /** Set once this generation's read models are known whole; gone after a loss. */
  get intact(): string {
    return `${this.prefix}meta:${this.generation}:intact`;
  }

  /** While the projector re-projects a loss: the offsets to reach before `intact` again. */
  get recovering(): string {
    return `${this.prefix}meta:${this.generation}:recovering`;
  }

  /** The same deployment, another generation. */
  withGeneration(generation: string): RedisKeys {
    return new RedisKeys(this.prefix, generation);
  }

  /** The glob matching every key of this generation (to delete it after a switch). */
  get generationPattern(): string {
    return `${this.prefix}${this.generation}:*`;
  }

  /** The glob matching this generation's positions and integrity markers. */
  get generationMetaPattern(): string {
    return `${this.prefix}meta:${this.generation}:*`;
  }

  /** The glob matching every key of this deployment (for cleanup in tests). */
  get pattern(): string {
    return `${this.prefix}*`;
  }
}
