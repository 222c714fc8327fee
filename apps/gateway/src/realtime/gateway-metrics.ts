import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Namespace } from 'socket.io';
import { MetricsRegistry } from '@lastmeter/platform';

export type SocketNamespace = 'terminal' | 'console';

/**
 * The gateway's realtime metrics (docs/observability.md). Counted where the gateway
 * emits, once per message and socket (a broadcast to n sockets counts n), so that
 * `rate(lastmeter_gateway_messages_emitted_total[1m])` is what went down the wire.
 */
@Injectable()
export class GatewayMetrics {
  private readonly namespaces = new Map<SocketNamespace, Namespace>();
  private readonly emitted: Counter<'namespace' | 'event'>;
  private readonly backlog: Counter;
  private readonly slowConsumers: Counter;
  private readonly refused: Counter<'reason'>;
  private readonly handshakesRefused: Counter<'namespace' | 'reason'>;
  private readonly fanout: Histogram;
  private readonly relayRounds: Counter<'source'>;

  constructor(registry: MetricsRegistry) {
    const namespaces = this.namespaces;
    new Gauge({
      name: 'lastmeter_gateway_connections',
      help: 'Sockets connected to this gateway, by namespace (terminal: store tablets, console: head office screens)',
      labelNames: ['namespace'],
      registers: [registry],
      collect() {
        for (const [name, namespace] of namespaces) this.set({ namespace: name }, namespace.sockets.size);
      },
    });
    this.emitted = new Counter({
      name: 'lastmeter_gateway_messages_emitted_total',
      help: 'Messages sent to sockets, by namespace and event (a broadcast counts once per socket)',
      labelNames: ['namespace', 'event'],
      registers: [registry],
    });
    this.backlog = new Counter({
      name: 'lastmeter_gateway_backlog_items_sent_total',
      help: 'Feed items sent to terminals that missed them: the live set and the items after a resumed cursor',
      registers: [registry],
    });
    this.slowConsumers = new Counter({
      name: 'lastmeter_gateway_slow_consumer_disconnects_total',
      help: 'Terminals disconnected because their socket did not drain for 5 s (they resume from their cursor)',
      registers: [registry],
    });
    this.refused = new Counter({
      name: 'lastmeter_gateway_rate_limited_total',
      help: 'Terminal messages refused by the per-terminal message budget (reason=flooding: the terminal was disconnected)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.handshakesRefused = new Counter({
      name: 'lastmeter_gateway_handshakes_refused_total',
      help: "Socket connections refused at the handshake, by namespace and reason (the client's connect_error data.reason; unavailable: the gateway's own failure, logged)",
      labelNames: ['namespace', 'reason'],
      registers: [registry],
    });
    this.fanout = new Histogram({
      name: 'lastmeter_gateway_fanout_seconds',
      help: 'From a feed entry appended (its time in the log) to its emit to the terminals connected when it came',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.relayRounds = new Counter({
      name: 'lastmeter_gateway_feed_relay_rounds_total',
      help: "Rounds of a store's feed relay, by where its items came from: the projector's notice, or a read of the store's feed in Redis",
      labelNames: ['source'],
      registers: [registry],
    });
  }

  /** The namespace whose sockets `lastmeter_gateway_connections` counts. */
  track(name: SocketNamespace, namespace: Namespace): void {
    this.namespaces.set(name, namespace);
  }

  sent(namespace: SocketNamespace, event: string, sockets = 1): void {
    if (sockets > 0) this.emitted.inc({ namespace, event }, sockets);
  }

  /** `n` feed items sent to a terminal that was not connected when they were appended. */
  backlogSent(n: number): void {
    if (n > 0) this.backlog.inc(n);
  }

  slowConsumer(): void {
    this.slowConsumers.inc();
  }

  rateLimited(reason: 'rate-limited' | 'flooding'): void {
    this.refused.inc({ reason });
  }

  /** A connection to `namespace` refused at the handshake with `reason`. */
  handshakeRefused(namespace: SocketNamespace, reason: string): void {
    this.handshakesRefused.inc({ namespace, reason });
  }

  /** A live feed item reached the terminals `seconds` after it was appended. */
  fannedOut(seconds: number): void {
    this.fanout.observe(Math.max(0, seconds));
  }

  /** A round of a store's feed relay, with the items a notice carried or read from Redis. */
  relayRound(source: 'notice' | 'redis'): void {
    this.relayRounds.inc({ source });
  }

  /** Sockets in a room (what a broadcast to it reaches). */
  static roomSize(namespace: Namespace, room: string): number {
    return namespace.adapter.rooms.get(room)?.size ?? 0;
  }
}
