import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { CommandOutcome } from '@lastmeter/contracts';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { REDIS } from '@lastmeter/redis';

interface Reply {
  requestId: string;
  outcome: CommandOutcome;
}

/**
 * Outcomes travel from whichever instance decided a command back to the instance holding
 * the HTTP request, over Redis pub/sub: one channel per command instance, one pending
 * promise per request. A reply nobody waits for (the request timed out, the instance
 * restarted) is dropped; the client's retry with its Idempotency-Key gets the outcome.
 */
@Injectable()
export class ReplyChannel implements OnModuleInit, OnApplicationShutdown {
  readonly channel: string;
  private readonly pending = new Map<string, (outcome: CommandOutcome) => void>();
  private subscriber?: Redis;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: SharedConfig,
  ) {
    this.channel = `${config.REDIS_KEY_PREFIX}command-replies:${randomUUID()}`;
  }

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('message', (_channel: string, message: string) => {
      const reply = JSON.parse(message) as Reply;
      this.pending.get(reply.requestId)?.(reply.outcome);
    });
    await this.subscriber.subscribe(this.channel);
  }

  /** Registers interest before the command is produced, so no reply can be missed. */
  expect(requestId: string, timeoutMs: number): { outcome: Promise<CommandOutcome | undefined>; cancel: () => void } {
    let timer: NodeJS.Timeout | undefined;
    const outcome = new Promise<CommandOutcome | undefined>((resolve) => {
      timer = setTimeout(() => {
        this.pending.delete(requestId);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(requestId, (value) => {
        clearTimeout(timer);
        this.pending.delete(requestId);
        resolve(value);
      });
    });
    return {
      outcome,
      cancel: () => {
        clearTimeout(timer);
        this.pending.delete(requestId);
      },
    };
  }

  async send(channel: string, requestId: string, outcome: CommandOutcome): Promise<void> {
    await this.redis.publish(channel, JSON.stringify({ requestId, outcome } satisfies Reply));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}
