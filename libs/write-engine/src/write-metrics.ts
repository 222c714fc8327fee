import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What became of a command, as `lastmeter_commands_total` counts it. */
export type CommandOutcomeLabel = 'accepted' | 'refused' | 'pending' | 'busy' | 'unavailable';

/**
 * The write side's metrics (docs/observability.md): commands by type and outcome, the
 * time to their decision, Kafka transaction times, and how far the feed sequencer is
 * behind. Units made without a registry (unit specs) get `WriteMetrics.none()`.
 */
export class WriteMetrics {
  private readonly commands?: Counter<'type' | 'outcome'>;
  private readonly intake?: Counter<'path'>;
  private readonly decision?: Histogram<'type'>;
  private readonly transaction?: Histogram<'contents'>;
  private readonly sequencing?: Histogram;
  private readonly tailRestarts?: Counter;
  /** Since when the oldest feed change not yet sequenced has waited (ms), if one has. */
  private sequencerBehindSince?: () => number | undefined;
  /** How many stores of this instance hold items back for their daily brief. */
  private storesAwaitingBrief?: () => number;

  constructor(registry?: Registry) {
    if (!registry) return;
    this.commands = new Counter({
      name: 'lastmeter_commands_total',
      help: 'Commands sent by HTTP requests and imports, by type and outcome (accepted, refused, pending: 202, busy and unavailable: 503)',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    });
    this.intake = new Counter({
      name: 'lastmeter_command_intake_total',
      help: 'Commands of HTTP requests by the way they reached their decision (request: decided in the request by the owner of their partition, COMMAND_DECIDE_IN_REQUEST; log: through the commands topic to its decider)',
      labelNames: ['path'],
      registers: [registry],
    });
    this.decision = new Histogram({
      name: 'lastmeter_command_decision_seconds',
      help: "From a command's request to the decider's outcome (accepted or refused), by command type",
      labelNames: ['type'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.transaction = new Histogram({
      name: 'lastmeter_kafka_transaction_seconds',
      help: 'One Kafka transaction of a partition writer, begin to commit (contents: decision = events and a command offset, with the feed entries it carries; feed = a feed sequencer pass, feed entries only)',
      labelNames: ['contents'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.sequencing = new Histogram({
      name: 'lastmeter_feed_sequencing_seconds',
      help: 'From a feed-changing event applied by this instance to its feed entries committed',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.tailRestarts = new Counter({
      name: 'lastmeter_event_tail_restarts_total',
      help: "Times the event tail's Kafka consumer stopped (Kafka gave up on it, or its batch kept failing) or its replacement failed to start; each time a new one follows the log on from the same offsets",
      registers: [registry],
    });
    const behindSince = () => this.sequencerBehindSince?.();
    new Gauge({
      name: 'lastmeter_feed_sequencer_lag_seconds',
      help: 'How long the oldest feed change not yet sequenced has waited (0: the feeds are up to date)',
      registers: [registry],
      collect() {
        const since = behindSince();
        this.set(since === undefined ? 0 : Math.max(0, (Date.now() - since) / 1000));
      },
    });
    const awaiting = () => this.storesAwaitingBrief?.() ?? 0;
    new Gauge({
      name: 'lastmeter_feed_stores_awaiting_brief',
      help: "Stores of this instance's partitions holding next-brief items until their opening (issue 22)",
      registers: [registry],
      collect() {
        this.set(awaiting());
      },
    });
  }

  static none(): WriteMetrics {
    return new WriteMetrics();
  }

  command(type: string, outcome: CommandOutcomeLabel, seconds?: number): void {
    this.commands?.inc({ type, outcome });
    if (seconds !== undefined && (outcome === 'accepted' || outcome === 'refused')) {
      this.decision?.observe({ type }, seconds);
    }
  }

  /** A request's command was decided in the request, or appended to the log for its decider. */
  commandTaken(path: 'request' | 'log'): void {
    this.intake?.inc({ path });
  }

  transactionCommitted(contents: 'decision' | 'feed', seconds: number): void {
    this.transaction?.observe({ contents }, seconds);
  }

  eventTailRestarted(): void {
    this.tailRestarts?.inc();
  }

  feedSequenced(seconds: number): void {
    this.sequencing?.observe(seconds);
  }

  /** The sequencer says how far behind it is when scraped. */
  watchSequencer(behindSince: () => number | undefined, awaitingBrief?: () => number): void {
    this.sequencerBehindSince = behindSince;
    this.storesAwaitingBrief = awaitingBrief;
  }
}
