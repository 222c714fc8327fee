import { randomUUID } from 'node:crypto';
import type { Audience } from '@lastmeter/contracts';

/** Every HTTP answer of the run by status ("network" when none came), and the 5xx that break the rules. */
export class HttpTally {
  readonly byStatus: Record<string, number> = {};
  /** 503 with Retry-After: what a client is told to wait on. */
  http503 = 0;
  /** Any other 5xx, a 503 without Retry-After included: each one fails the run. */
  http5xxOther = 0;
  readonly examples: string[] = [];

  count(what: string, response: Response | undefined): void {
    const status = response ? String(response.status) : 'network';
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
    if (!response || response.status < 500) return;
    if (response.status === 503 && response.headers.get('retry-after')) this.http503++;
    else {
      this.http5xxOther++;
      if (this.examples.length < 10) this.examples.push(`${what}: ${response.status}`);
    }
  }
}

/**
 * Head office as a careful client: every write with an Idempotency-Key, the same on
 * every attempt, retried after 503, 202 (decision pending) or no answer at all, until
 * its outcome is final. Counts every answer in `tally`.
 */
export class Writer {
  constructor(
    private readonly commandUrl: string,
    private readonly token: string,
    private readonly tally: HttpTally,
  ) {}

  async write<T = { id: string }>(path: string, body: object, expected: number): Promise<T> {
    const key = randomUUID();
    const deadline = Date.now() + 120_000;
    for (;;) {
      let response: Response | undefined;
      try {
        response = await fetch(`${this.commandUrl}/v1${path}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${this.token}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
      } catch {
        response = undefined;
      }
      this.tally.count(`POST ${path}`, response);
      if (response?.status === expected) return (await response.json()) as T;
      const text = response ? await response.text() : '';
      if (response && response.status !== 202 && response.status < 500)
        throw new Error(`POST ${path}: ${response.status} ${text}`);
      if (Date.now() > deadline) throw new Error(`POST ${path}: no outcome in 120 s`);
      await new Promise((done) => setTimeout(done, 250 + Math.random() * 250));
    }
  }
}

export interface Published {
  id: string;
  /** Stores it was addressed to. */
  stores: string[];
  /** Date.now() when its publish was first tried, and when it was accepted. */
  tried: number;
  accepted: number;
}

/**
 * Publishes notices until `stop` says so, `rate` per second over `workers` concurrent
 * writers: most to ten random stores, one in five to the whole region.
 */
export async function publishLoad(options: {
  writer: Writer;
  regionId: string;
  stores: string[];
  rate: number;
  workers: number;
  stop: () => boolean;
  published: Published[];
}): Promise<void> {
  const { writer, regionId, stores, rate, workers, stop, published } = options;
  const interval = (1_000 * workers) / rate;
  let n = 0;
  const worker = async () => {
    while (!stop()) {
      const started = Date.now();
      const whole = Math.random() < 0.2;
      const targets = whole ? stores : sample(stores, Math.min(10, stores.length));
      const audience: Audience = whole ? { regionIds: [regionId] } : { storeIds: targets };
      const title = `Chaos ${++n}`;
      const draft = await writer.write('/communications', { kind: 'notice', title, body: title, audience }, 201);
      const tried = Date.now();
      await writer.write(`/communications/${draft.id}/publish`, {}, 200);
      published.push({ id: draft.id, stores: targets, tried, accepted: Date.now() });
      const wait = interval - (Date.now() - started);
      if (wait > 0) await new Promise((done) => setTimeout(done, wait));
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}

/** Reads what head office and analysts read, twice a second, until `stop`: counts every answer. */
export async function readLoad(options: {
  gatewayUrl: string;
  token: string;
  stores: string[];
  tally: HttpTally;
  stop: () => boolean;
}): Promise<void> {
  const { gatewayUrl, token, stores, tally, stop } = options;
  const paths = () => [
    `/v1/stores/${sample(stores, 1)[0]}/feed?limit=5`,
    '/v1/compliance?limit=20',
    '/v1/presence?limit=20',
  ];
  while (!stop()) {
    await Promise.all(
      paths().map(async (path) => {
        let response: Response | undefined;
        try {
          response = await fetch(`${gatewayUrl}${path}`, {
            headers: { authorization: `Bearer ${token}` },
            signal: AbortSignal.timeout(10_000),
          });
          await response.arrayBuffer();
        } catch {
          response = undefined;
        }
        tally.count(`GET ${path.split('?')[0]}`, response);
      }),
    );
    await new Promise((done) => setTimeout(done, 500));
  }
}

export function sample<T>(items: T[], n: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}
