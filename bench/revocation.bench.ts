/**
 * Revocation latency: HTTP revoke of a terminal → its socket closed by the server, for
 * TERMINALS enrolled terminals connected half to each of two gateways, revoked open
 * loop at RATE per second. The path is the whole system's: the command API decides
 * `terminal.revoke`, the projector announces `terminal-revoked` on Redis, and every
 * gateway closes the terminal's room. Goal: p50 and p99 under 1 s (issue 17).
 */
import { forEachConcurrently } from './lib/concurrently';
import { awaitDelivery, Fleet, msSince } from './lib/fleet';
import { sized, summary, thin, writeScenario } from './lib/results';
import { enrollTerminal, revoke, setUpStores, startStack } from './lib/stack';
import { benchInfra, runMain } from './support';

const TERMINALS = sized({ full: 1_000, quick: 200, tiny: 10 });
const STORES = sized({ full: 10, quick: 5, tiny: 2 });
const RATE = sized({ full: 100, quick: 50, tiny: 10 });
const GOAL_MS = 1_000;

async function main(): Promise<void> {
  const infra = await benchInfra();
  // Every enrollment comes from this one address: its per-address limit (60 a minute)
  // would make setting up take minutes.
  const stack = await startStack(infra, undefined, { ENROLL_LIMIT_PER_IP: String(TERMINALS * 2) });
  try {
    const second = await stack.another('gateway');
    const stores = await setUpStores(stack, STORES);
    console.error(`revocation: enrolling ${TERMINALS} terminals (not measured)…`);
    const terminals: Array<{ terminalId: string; token: string }> = new Array(TERMINALS);
    await forEachConcurrently(TERMINALS, 20, async (i) => {
      terminals[i] = await enrollTerminal(stack, stores[i % STORES]!);
    });
    const fleet = new Fleet(1);
    const half = Math.ceil(TERMINALS / 2);
    await fleet.connect('terminal', stack.urls.gateway, terminals.slice(0, half));
    await fleet.connect('terminal', second.url, terminals.slice(half));

    console.error(`revocation: revoking ${TERMINALS} terminals at ${RATE}/s over two gateways`);
    const sent = new Map<string, bigint>();
    const answers = new Map<string, number>();
    const start = Date.now();
    await Promise.all(
      terminals.map(async ({ terminalId }, i) => {
        const wait = start + (i * 1000) / RATE - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        sent.set(terminalId, process.hrtime.bigint());
        const answer = await revoke(stack, terminalId).then(String, (error: Error) => `no answer (${error.message})`);
        answers.set(answer, (answers.get(answer) ?? 0) + 1);
      }),
    );
    const keys = terminals.map(({ terminalId }) => `closed:${terminalId}`);
    const closed = await awaitDelivery(fleet, keys, 1, 60_000);
    await fleet.close();
    const latencies = terminals.map(({ terminalId }) =>
      msSince(sent.get(terminalId)!, closed.get(`closed:${terminalId}`)!.first),
    );
    const ours = summary(latencies);
    console.error(`revocation: answers ${JSON.stringify(Object.fromEntries(answers))}`);

    writeScenario({
      scenario: 'revocation',
      title: `Revocation: HTTP revoke → socket closed, ${TERMINALS} terminals on two gateways`,
      parameters: {
        terminals: TERMINALS,
        stores: STORES,
        gateways: 2,
        rate: RATE,
        answers: Object.fromEntries(answers),
      },
      metrics: [
        {
          name: 'revoke → socket closed, p50',
          unit: 'ms',
          value: ours.p50,
          lowerIsBetter: true,
          goal: GOAL_MS,
          goalIsAbsolute: true,
        },
        {
          name: 'revoke → socket closed, p99',
          unit: 'ms',
          value: ours.p99,
          lowerIsBetter: true,
          goal: GOAL_MS,
          goalIsAbsolute: true,
        },
        { name: 'revoke → socket closed, max', unit: 'ms', value: ours.max, lowerIsBetter: true },
        {
          name: 'revocations not answered 200',
          unit: 'terminals',
          value: TERMINALS - (answers.get('200') ?? 0),
          lowerIsBetter: true,
          goal: 0,
          goalIsAbsolute: true,
        },
      ],
      samples: { 'revoke → socket closed': thin(latencies) },
    });
  } finally {
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
