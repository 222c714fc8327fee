import { randomUUID } from 'node:crypto';
import { bearer, type Publisher } from './write-api';

/**
 * Writes as a careful client makes them during a failover: the same Idempotency-Key on
 * every attempt, and a retry on 503 (Kafka or Redis unavailable), 202 (decision pending)
 * or a dropped connection, until the outcome is final. `retries` counts the statuses met
 * on the way, for failure messages.
 */
export class CarefulWriter {
  readonly retries: Record<string, number> = {};

  constructor(
    private readonly commandUrl: string,
    private readonly api: Publisher,
  ) {}

  async write(path: string, body: object, expected: number): Promise<{ id: string }> {
    const key = randomUUID();
    const deadline = Date.now() + 90_000;
    for (;;) {
      let status = 'network error';
      try {
        const response = await fetch(`${this.commandUrl}/v1${path}`, {
          method: 'POST',
          headers: {
            ...bearer(this.api.token('hq-editor')),
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
        status = String(response.status);
        if (response.status === expected) return (await response.json()) as { id: string };
        if (![202, 503].includes(response.status)) throw new Error(`${path}: ${status} ${await response.text()}`);
      } catch (error) {
        if (status !== 'network error') throw error;
      }
      this.retries[status] = (this.retries[status] ?? 0) + 1;
      if (Date.now() > deadline) throw new Error(`${path}: no outcome in 90 s (${JSON.stringify(this.retries)})`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Drafts a notice to every store and publishes it; its id. */
  async publish(title: string): Promise<string> {
    const { id } = await this.write(
      '/communications',
      { kind: 'notice', title, body: title, audience: { all: true } },
      201,
    );
    await this.write(`/communications/${id}/publish`, {}, 200);
    return id;
  }
}
