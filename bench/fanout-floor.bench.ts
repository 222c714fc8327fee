/**
 * Fan-out floor: a minimal Socket.IO server (and, for reference, a raw `ws` server)
 * pushing one message from memory to N connected clients; publish → last client
 * received. Servers and clients are separate processes (bench/lib).
 */
import { awaitDelivery, BareServer, Fleet, msSince } from './lib/fleet';
import { sized, summary, thin, writeScenario, type Metric } from './lib/results';
import { FLOOR_METRICS } from './lib/floors';
import { runMain } from './support';

export const FANOUT_SIZES = sized({ full: [1_000, 10_000], quick: [200, 1_000], tiny: [20] });
const ROUNDS = sized({ full: 50, quick: 20, tiny: 5 });

/**
 * A bare server of `kind` with `n` clients connected, broadcasting one message per
 * `round()` and answering the time until the last client had it (ms). Kept open, it
 * gives a floor sampled in the same moments as what is compared with it (end-to-end
 * takes one bare round before each publish).
 */
export async function openBareFanout(
  kind: 'socketio' | 'ws',
  n: number,
): Promise<{
  round(): Promise<{ first: number; last: number }>;
  close(): Promise<void>;
  /** The bare server's and its clients' processes (who ran in a round): `server`, `clients`, `clients.2`, … */
  pids: Record<string, number>;
}> {
  const server = await BareServer.start(kind);
  const fleet = Fleet.for(n);
  const close = async () => {
    await fleet.close();
    await server.stop();
  };
  try {
    await fleet.connect(
      kind,
      kind === 'ws' ? `ws://127.0.0.1:${server.port}` : server.url,
      Array.from({ length: n }, () => ({})),
    );
  } catch (error) {
    await close();
    throw error;
  }
  let seq = 0;
  return {
    pids: { server: server.pid, ...fleetPids(fleet) },
    /** One broadcast: ms until the first client and until the last had it. */
    async round() {
      const key = String(seq);
      const t0 = process.hrtime.bigint();
      server.broadcast(seq++);
      const { first, last } = (await awaitDelivery(fleet, [key], n)).get(key)!;
      return { first: msSince(t0, first), last: msSince(t0, last) };
    },
    close,
  };
}

/** A fleet's load processes by name for `schedTimes`: `clients`, then `clients.2`, … */
export function fleetPids(fleet: Fleet): Record<string, number> {
  return Object.fromEntries(fleet.pids.map((pid, i) => [i === 0 ? 'clients' : `clients.${i + 1}`, pid]));
}

/** Latencies (ms) of `rounds` broadcasts to `n` clients of a bare server of `kind`, after 3 not counted. */
export async function bareFanout(kind: 'socketio' | 'ws', n: number, rounds = ROUNDS): Promise<number[]> {
  const bare = await openBareFanout(kind, n);
  try {
    return await bareRounds(bare, rounds);
  } finally {
    await bare.close();
  }
}

/**
 * `rounds` broadcasts of an open bare fan-out, 50 ms apart, after 3 not counted (`counting`
 * is called right before the first counted one): the latency of each to its last client (ms).
 */
export async function bareRounds(
  bare: Awaited<ReturnType<typeof openBareFanout>>,
  rounds: number,
  counting?: () => void,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let round = -3; round < rounds; round++) {
    if (round === 0) counting?.();
    const { last: ms } = await bare.round();
    if (round >= 0) latencies.push(ms);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return latencies;
}

async function main(): Promise<void> {
  const metrics: Metric[] = [];
  const samples: Record<string, number[]> = {};
  for (const n of FANOUT_SIZES) {
    console.error(`fan-out floor: N = ${n}`);
    const io = summary((samples[`bare Socket.IO, N=${n}`] = await bareFanout('socketio', n)));
    const ws = summary((samples[`raw ws, N=${n}`] = await bareFanout('ws', n)));
    metrics.push(
      {
        name: FLOOR_METRICS.socketIo(n, 'p50'),
        unit: 'ms',
        value: io.p50,
        baseline: ws.p50,
        baselineName: 'raw ws',
        lowerIsBetter: true,
      },
      {
        name: FLOOR_METRICS.socketIo(n, 'p99'),
        unit: 'ms',
        value: io.p99,
        baseline: ws.p99,
        baselineName: 'raw ws',
        lowerIsBetter: true,
      },
    );
    for (const name of Object.keys(samples)) samples[name] = thin(samples[name]);
  }
  writeScenario({
    scenario: 'fanout-floor',
    title: 'Fan-out floor: bare Socket.IO (and raw ws) broadcast from memory',
    parameters: { clients: FANOUT_SIZES, rounds: ROUNDS },
    metrics,
    samples,
  });
}

if (require.main === module) {
  runMain(main);
}
