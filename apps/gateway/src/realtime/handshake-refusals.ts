import { Logger, type Provider } from '@nestjs/common';
import { GatewayMetrics, type SocketNamespace } from './gateway-metrics';

/** Where refusals are counted and the unexpected ones told (GatewayMetrics and a Nest Logger in the app). */
export interface RefusalSinks {
  count(namespace: SocketNamespace, reason: string): void;
  warn(message: string): void;
}

/** At most one WARN line per namespace in this long: a Redis failing over refuses every tablet at once. */
export const UNAVAILABLE_WARN_EVERY_MS = 10_000;

/**
 * The handshakes a gateway refused, counted by reason. A refusal `unavailable` is the
 * gateway's own failure (Redis down, the read models being re-projected, Kafka slow to
 * answer for the feed epoch): the client is told only to retry, so the cause is logged
 * here, once per UNAVAILABLE_WARN_EVERY_MS per namespace, with how many more since.
 */
export class HandshakeRefusals {
  private readonly lastWarned = new Map<SocketNamespace, number>();
  private readonly unsaid = new Map<SocketNamespace, number>();

  constructor(
    private readonly sinks: RefusalSinks,
    private readonly now: () => number = Date.now,
  ) {}

  /** A refusal the client caused (bad token, revoked, bad cursor, …). */
  refused(namespace: SocketNamespace, reason: string): void {
    this.sinks.count(namespace, reason);
  }

  /** Refused `unavailable` because of `error`, which the client never sees. */
  unavailable(namespace: SocketNamespace, error: unknown): void {
    this.sinks.count(namespace, 'unavailable');
    const now = this.now();
    const last = this.lastWarned.get(namespace);
    if (last !== undefined && now - last < UNAVAILABLE_WARN_EVERY_MS) {
      this.unsaid.set(namespace, (this.unsaid.get(namespace) ?? 0) + 1);
      return;
    }
    const more = this.unsaid.get(namespace) ?? 0;
    this.lastWarned.set(namespace, now);
    this.unsaid.delete(namespace);
    const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const since = more > 0 ? ` (and ${more} more since the last such line)` : '';
    this.sinks.warn(`refused a /${namespace} handshake 'unavailable'${since}: ${cause}`);
  }
}

/** The gateway's one HandshakeRefusals, for both namespaces: counted in GatewayMetrics, told in its own log context. */
export const HANDSHAKE_REFUSALS: Provider = {
  provide: HandshakeRefusals,
  inject: [GatewayMetrics],
  useFactory: (metrics: GatewayMetrics) => {
    const logger = new Logger(HandshakeRefusals.name);
    return new HandshakeRefusals({
      count: (namespace, reason) => metrics.handshakeRefused(namespace, reason),
      warn: (message) => logger.warn(message),
    });
  },
};
