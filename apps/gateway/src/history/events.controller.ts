import {
  BadRequestException,
  Controller,
  Get,
  HttpException,
  HttpStatus,
  Inject,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
  Query,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { once } from 'node:events';
import { Counter, Gauge } from 'prom-client';
import { CurrentClaims, Roles, type TokenClaims } from '@lastmeter/auth';
import { RawAnswer, Refuses } from '@lastmeter/platform';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import type { TopicNames } from '@lastmeter/contracts';
import { InvalidReplayFilter, LogReplay, replayFilterOf, ReplayQuery, type ReplayFilter } from '@lastmeter/history';
import { KAFKA, TOPIC_NAMES, type Kafka } from '@lastmeter/kafka';
import { MetricsRegistry } from '@lastmeter/platform';
import { PersonKeyMirror, RedisKeys } from '@lastmeter/read-models';
import type Redis from 'ioredis';
import { REDIS } from '@lastmeter/redis';
import { ReplayLimiter } from './replay-limiter';

/** Tries at deleting leftover replay groups at start (2 s, 4 s, … apart: about 90 s in all). */
const LEFTOVER_ATTEMPTS = 10;

/**
 * Seconds a refused client is told to wait. A slot frees when some replay ends, which the
 * gateway cannot predict; a few seconds keeps retries from hammering it.
 */
const RETRY_AFTER_S = 5;
/** Bytes of a replay's response that may wait for the client's socket before the merge pauses. */
const REPLAY_BUFFERED = 1024 * 1024;

@ApiTags('history')
@ApiBearerAuth()
@Controller('events')
export class EventsController implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(EventsController.name);
  private leftoverRetry?: NodeJS.Timeout;
  private readonly replay: LogReplay;
  private readonly limiter: ReplayLimiter;
  private readonly refused: Counter<'scope'>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(TOPIC_NAMES) topics: TopicNames,
    @Inject(APP_CONFIG) config: AppConfig<'gateway'>,
    @Inject(REDIS) redis: Redis,
    registry: MetricsRegistry,
  ) {
    // Names and notes are opened with the keys the projector mirrors (erased: none).
    const personKeys = new PersonKeyMirror(redis, new RedisKeys(config.REDIS_KEY_PREFIX));
    this.replay = new LogReplay(kafka, topics, {
      workers: config.REPLAY_WORKERS,
      personKeys: (ids) => personKeys.keysOf(ids),
    });
    const limiter = new ReplayLimiter(config.REPLAY_MAX_PER_USER, config.REPLAY_MAX_PER_GATEWAY);
    this.limiter = limiter;
    new Gauge({
      name: 'lastmeter_replays_active',
      help: 'Replays (GET /v1/events) this gateway is running',
      registers: [registry],
      collect() {
        this.set(limiter.active);
      },
    });
    this.refused = new Counter({
      name: 'lastmeter_replays_refused_total',
      help: 'Replays refused with 429, by the limit reached (user or gateway)',
      labelNames: ['scope'],
      registers: [registry],
    });
  }

  /** Groups of replays a previous process did not get to delete (it died mid-replay). */
  onModuleInit(): void {
    this.deleteLeftoverGroups(1);
  }

  /**
   * A fresh broker answers "the coordinator is loading" while it reads __consumer_offsets
   * (kafkajs may hand it over wrapped, after its own retries): tried again a few times,
   * warned about only if it never settles.
   */
  private deleteLeftoverGroups(attempt: number): void {
    void this.replay.deleteLeftoverGroups().then(
      (deleted) => deleted.length > 0 && this.logger.log(`deleted ${deleted.length} leftover replay groups`),
      (error: Error) => {
        if (attempt < LEFTOVER_ATTEMPTS) {
          this.logger.debug(`leftover replay groups: ${error.message}; trying again`);
          this.leftoverRetry = setTimeout(() => this.deleteLeftoverGroups(attempt + 1), 2_000 * attempt).unref();
        } else this.logger.warn(`leftover replay groups not deleted: ${error.message}`);
      },
    );
  }

  /** Stops the parsing threads. */
  onModuleDestroy(): Promise<void> {
    clearTimeout(this.leftoverRetry);
    return this.replay.close();
  }

  @Get()
  @Roles('analyst', 'hq-admin')
  @ApiProduces('application/x-ndjson')
  @ApiOperation({
    summary: 'Replay the log as NDJSON',
    description:
      "Every fact matching the filters, one JSON event per line, upcast to the current schema, with persons' sealed " +
      'names and notes opened (or "Erased person" / noteErased once erased, docs/privacy.md): in log order per ' +
      'partition and, across partitions, by occurredAt (a k-way merge of the partitions). Streams with backpressure. ' +
      'Concurrent replays are limited per user (REPLAY_MAX_PER_USER) and per gateway (REPLAY_MAX_PER_GATEWAY).',
  })
  @RawAnswer('application/x-ndjson', 'One event envelope (upcast) per line, streamed')
  @Refuses(
    [429, 'Too many concurrent replays (of this user or on this gateway): wait Retry-After seconds'],
    [503, 'Kafka could not be read before the first event: retry after Retry-After seconds'],
  )
  async events(@Query() query: ReplayQuery, @CurrentClaims() claims: TokenClaims, @Res() res: Response): Promise<void> {
    let filter: ReplayFilter;
    try {
      filter = replayFilterOf(query);
    } catch (error) {
      if (!(error instanceof InvalidReplayFilter)) throw error;
      throw new BadRequestException({ message: 'invalid request: to', fields: error.fields });
    }
    // Before any Kafka work: a refused replay costs the gateway nothing.
    const slot = this.limiter.acquire(claims.sub);
    if (!('release' in slot)) {
      this.refused.inc({ scope: slot.scope });
      res.setHeader('Retry-After', String(RETRY_AFTER_S));
      throw new HttpException(
        {
          message:
            slot.scope === 'user'
              ? `too many concurrent replays: at most ${slot.limit} per user; retry when one of yours has ended`
              : `too many concurrent replays on this gateway (at most ${slot.limit}); retry later`,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    // The client going away aborts the replay wherever it is: waiting for Kafka, for the
    // merge or for 'drain'. Its consumer disconnects and its group is deleted.
    const abort = new AbortController();
    const { signal } = abort;
    res.once('close', () => abort.abort());
    if (res.destroyed) abort.abort(); // gone before the handler ran
    const chunks = this.replay.chunks(filter, undefined, { signal });
    let failure: Error | undefined;
    try {
      res.status(200).type('application/x-ndjson');
      res.setHeader('cache-control', 'no-store');
      // Whole lines, about 64 KiB at a time, or what the merge has when it waits for Kafka.
      // The merge goes on while up to REPLAY_BUFFERED bytes wait for the socket (a chunk
      // is already above the response's 16 KiB mark, so waiting for 'drain' after each
      // one stopped the merge for every chunk); a slow reader still holds it back.
      for await (const chunk of chunks) {
        if (signal.aborted) break;
        res.write(chunk);
        if (res.writableLength >= REPLAY_BUFFERED) await once(res, 'drain', { signal }).catch(() => undefined);
      }
    } catch (error) {
      failure = error as Error;
      this.logger.warn(`replay stopped: ${failure.message}`);
    } finally {
      await chunks.return(undefined).catch(() => undefined);
      // Released before the response ends, so that a client may start its next replay as
      // soon as it has read this one to the end.
      slot.release();
    }
    // Failed before its first line: a proper error. Later, the headers are gone and all a
    // client can be told is that the stream ends early.
    if (failure && !res.headersSent && !signal.aborted) {
      throw new ServiceUnavailableException('the event log cannot be read right now');
    }
    res.end();
  }
}
