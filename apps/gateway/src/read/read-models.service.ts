import { Inject, Injectable, type OnModuleDestroy, ServiceUnavailableException } from '@nestjs/common';
import type Redis from 'ioredis';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { FIRST_GENERATION, generationPointer, RedisKeys, servingGeneration } from '@lastmeter/read-models';
import { pipelineReplies, REDIS } from '@lastmeter/redis';

/** How often a gateway re-reads which generation serves and whether it is whole. */
const GENERATION_TTL_MS = 250;
/** How old that may be before a read waits for a fresh one (the background refresh failing). */
const STALE_AFTER_MS = 1_000;
/** Retry-After of a read while the read models are re-projected. */
export const RECOVERING_RETRY_AFTER_S = 5;

/**
 * Thrown by `ReadModels.keys()` while the serving generation is not whole (Redis lost
 * data, the projectors re-project it): a 503 with Retry-After over HTTP, a refused
 * handshake on a socket. Never an empty board, and never a revoked terminal let in
 * because its record is gone.
 */
export class ReadModelsRecovering extends ServiceUnavailableException {
  constructor() {
    super({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'read models are being rebuilt after Redis lost data; retry shortly',
      retryAfter: RECOVERING_RETRY_AFTER_S,
    });
  }
}

/**
 * Waits between re-checks of an access check against the read models that would say no
 * (a fact on a communication, a store opening a head office medium), while a projector
 * may be catching up with what terminals were already handed: about 1.9 s in all.
 */
export const RECHECK_WAITS_MS = [100, 250, 500, 1_000];

/**
 * A check against the read models that cannot be answered yet: a store's feed was
 * announced on commit beyond what Redis holds, and the projection has not caught up
 * within the re-checks (apps/gateway/src/realtime/unprojected-feeds.ts). 503 with
 * Retry-After 1: nothing is wrong with the request.
 */
export class ReadModelsBehind extends ServiceUnavailableException {
  constructor() {
    super({
      statusCode: 503,
      error: 'Service Unavailable',
      message: "the read models have not caught up with this store's feed yet; retry shortly",
      retryAfter: 1,
    });
  }
}

/** What a gateway last read about the serving generation. */
interface Serving {
  keys: RedisKeys;
  whole: boolean;
  /** When it was read (ms). */
  at: number;
}

/**
 * The serving generation's keys; after `lastmeter rebuild` switches, reads follow within
 * 250 ms. While the projectors re-project a Redis that lost data (`recovering`), or once
 * the generation this gateway has seen whole is no longer marked `intact`, it throws
 * ReadModelsRecovering instead.
 *
 * The pointer and the two marks are re-read every 250 ms in the background (one round
 * trip), so a read, a handshake or a feed relay never waits for them: they would
 * otherwise be two round trips in a row ahead of the first read after every quiet
 * quarter-second, e.g. ahead of every live feed item's fan-out (bench/PROFILE.md). Only
 * when that refresh has not succeeded for a second (Redis away, a stalled loop) does a
 * read wait for a refresh of its own.
 */
@Injectable()
export class ReadModels implements OnModuleDestroy {
  private serving?: Serving;
  private refreshing?: Promise<Serving>;
  private timer?: ReturnType<typeof setInterval>;
  /** Generations seen whole: their `intact` going missing is a loss, not a new deployment. */
  private readonly seenWhole = new Set<string>();

  constructor(
    @Inject(REDIS) readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: SharedConfig,
  ) {}

  async keys(): Promise<RedisKeys> {
    let serving = this.serving;
    if (!serving || Date.now() - serving.at > STALE_AFTER_MS) serving = await this.refresh();
    if (!serving.whole) throw new ReadModelsRecovering();
    return serving.keys;
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Reads the pointer and the marks (one refresh at a time); starts the background refresh. */
  private refresh(): Promise<Serving> {
    this.timer ??= setInterval(() => void this.refresh().catch(() => undefined), GENERATION_TTL_MS).unref();
    this.refreshing ??= this.read().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async read(): Promise<Serving> {
    const prefix = this.config.REDIS_KEY_PREFIX;
    const known = this.serving?.keys ?? new RedisKeys(prefix, FIRST_GENERATION);
    // The marks of the generation last seen, with the pointer: a second round trip only
    // when the pointer has moved.
    const [pointer, marks] = pipelineReplies(
      await this.redis.pipeline().get(generationPointer(prefix)).mget(known.intact, known.recovering).exec(),
    ) as [string | null, Array<string | null>];
    const generation = servingGeneration(pointer);
    let keys = known;
    let [intact, recovering] = marks;
    if (generation !== known.generation) {
      keys = new RedisKeys(prefix, generation);
      [intact, recovering] = await this.redis.mget(keys.intact, keys.recovering);
    }
    if (intact) this.seenWhole.add(generation);
    const whole = !recovering && (intact !== null || !this.seenWhole.has(generation));
    return (this.serving = { keys, whole, at: Date.now() });
  }
}
