/** Reply channel: carries a command's outcome from the deciding instance to the waiting request. */
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { CommandOutcome } from '@lastmeter/contracts';
import { APP_CONFIG, type SharedConfig } from '@lastmeter/config';
import { commandReplyChannel } from '@lastmeter/redis';
import type { PendingReply, ReplySender, ReplyTransport, ReplyWaiter } from './ports';
import { REPLY_TRANSPORT } from './write-engine.tokens';

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
export class ReplyChannel implements ReplyWaiter, ReplySender, OnModuleInit, OnApplicationShutdown {
  readonly channel: string;
  private readonly pending = new Map<string, (outcome: CommandOutcome) => void>();

  constructor(
    @Inject(REPLY_TRANSPORT) private readonly transport: ReplyTransport,
    @Inject(APP_CONFIG) config: Pick<SharedConfig, 'REDIS_KEY_PREFIX'>,
  ) {
    this.channel = commandReplyChannel(config.REDIS_KEY_PREFIX, randomUUID());
  }

  async onModuleInit(): Promise<void> {
    await this.transport.subscribe(this.channel, (message) => {
      const reply = JSON.parse(message) as Reply;
      this.pending.get(reply.requestId)?.(reply.outcome);
    });
  }

  /** Registers interest before the command is produced, so no reply can be missed. */
  expect(requestId: string, timeoutMs: number): PendingReply {
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

  /**
   * Sends the outcome to the instance waiting on `channel`. When that is this instance
   * (the decider of the command's partition took the request too, always so with one
   * command instance), it is handed over in memory, a copy as Redis would deliver it:
   * no round trip, and the answer does not depend on Redis pub/sub.
   */
  async send(channel: string, requestId: string, outcome: CommandOutcome): Promise<void> {
    if (channel === this.channel) {
      this.pending.get(requestId)?.(structuredClone(outcome));
      return;
    }
    await this.transport.publish(channel, JSON.stringify({ requestId, outcome } satisfies Reply));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.transport.close();
  }
}

/** The ReplyTransport on Redis: publishes on the shared client, listens on a duplicate of it. */
export class RedisReplyTransport implements ReplyTransport {
  private subscriber?: Redis;

  constructor(private readonly redis: Redis) {}

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    this.subscriber ??= this.redis.duplicate();
    this.subscriber.on('message', (from: string, message: string) => {
      if (from === channel) onMessage(message);
    });
    await this.subscriber.subscribe(channel);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.redis.publish(channel, message);
  }

  async close(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}
