/**
 * Sustained load: RATE publishes per second to TERMINALS terminals for SECONDS, open
 * loop (each publish leaves on schedule, whatever the previous one is doing): delivery
 * latency (publish → last terminal), errors, projector lag, gateway CPU and memory;
 * against a bare Socket.IO server broadcasting at the same rate to the same number of
 * clients, same run.
 */
import { awaitDelivery, BareServer, Fleet, msSince } from './lib/fleet';
import { sampleProcess } from './lib/proc-stats';
import { round, sized, summary, thin, writeScenario } from './lib/results';
import { draftNotices, publish, setUpStores, startStack, terminalsOf } from './lib/stack';
import { benchInfra, runMain } from './support';

const RATE = sized({ full: 200, quick: 50, tiny: 10 });
const SECONDS = sized({ full: 60, quick: 15, tiny: 3 });
const TERMINALS = sized({ full: 1_000, quick: 200, tiny: 10 });
const STORES = sized({ full: 10, quick: 5, tiny: 2 });
const TOTAL = RATE * SECONDS;
// At this rate even 1,000 sockets' traffic is more than one load process parses in time.
const LOAD_PROCESSES = TERMINALS >= 1_000 ? 2 : 1;

/** Calls `send(i)` at RATE per second on a fixed schedule; resolves when all have settled. */
async function openLoop(send: (i: number) => Promise<void>): Promise<{ behindMs: number }> {
  const start = Date.now();
  const pending: Array<Promise<void>> = [];
  let behindMs = 0;
  for (let i = 0; i < TOTAL; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    else behindMs = Math.max(behindMs, -wait);
    pending.push(send(i));
  }
  await Promise.all(pending);
  return { behindMs };
}

/**
 * Whether a backlog builds: how much later a publish is delivered per second of the run
 * (least-squares slope of delivery time against send time, ms per s; 0 when it keeps up,
 * about 1,000 when nothing is delivered until the end), and the median delivery of the
 * first and the last tenth of the publishes.
 */
function backlog(sends: bigint[], latencies: number[]): { slope: number; first: number; last: number } {
  if (latencies.length < 10) return { slope: 0, first: 0, last: 0 };
  const xs = sends.map((t) => Number(t - sends[0]) / 1e9);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const mx = mean(xs);
  const my = mean(latencies);
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (latencies[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  const tenth = Math.floor(latencies.length / 10);
  return {
    slope: den > 0 ? num / den : 0,
    first: summary(latencies.slice(0, tenth)).p50,
    last: summary(latencies.slice(-tenth)).p50,
  };
}

async function main(): Promise<void> {
  const infra = await benchInfra();
  const stack = await startStack(infra);
  try {
    const stores = await setUpStores(stack, STORES);
    console.error(`sustained: drafting ${TOTAL} notices first (not measured)…`);
    const drafts = await draftNotices(stack, TOTAL);
    const fleet = new Fleet(LOAD_PROCESSES);
    await fleet.connect('terminal', stack.urls.gateway, await terminalsOf(stack, stores, TERMINALS));

    console.error(`sustained: ${RATE} publishes/s to ${TERMINALS} terminals for ${SECONDS} s`);
    const sent = new Map<string, bigint>();
    // Each answer counted separately: 200, 202 (decision pending), 503 (busy: shed), and
    // requests that got no HTTP answer at all (by the client's error code).
    const answers = new Map<string, number>();
    let errors = 0;
    const gateway = sampleProcess(stack.processes.gateway!.pid!);
    // Where else the two cores go while the fleet parses (the pipeline before fan-out).
    const command = sampleProcess(stack.processes.command!.pid!);
    const projector = sampleProcess(stack.processes.projector!.pid!);
    const { behindMs } = await openLoop(async (i) => {
      const id = drafts[i];
      sent.set(id, process.hrtime.bigint());
      const answer = await publish(stack, id).then(
        String,
        (error: Error & { code?: string }) => `no answer (${error.code ?? error.message})`,
      );
      answers.set(answer, (answers.get(answer) ?? 0) + 1);
      if (answer !== '200' && answer !== '202') {
        errors++;
        sent.delete(id);
      }
    });
    console.error(`sustained: answers ${JSON.stringify(Object.fromEntries(answers))}`);
    const delivered = await awaitDelivery(fleet, [...sent.keys()], TERMINALS, 300_000).catch((error: Error) => {
      console.error(error.message);
      return undefined;
    });
    const usage = gateway.stop();
    const commandUsage = command.stop();
    const projectorUsage = projector.stop();
    const lag = await stack.metric('projector', 'lastmeter_projector_lag');
    await fleet.close();
    const latencies = delivered ? [...sent].map(([id, t0]) => msSince(t0, delivered.get(id)!.last)) : [];
    const ours = summary(latencies);
    const ourBacklog = backlog([...sent.values()], latencies);

    console.error('sustained: the same rate from a bare Socket.IO server');
    const bare = await BareServer.start('socketio');
    const bareFleet = new Fleet(LOAD_PROCESSES);
    await bareFleet.connect(
      'socketio',
      bare.url,
      Array.from({ length: TERMINALS }, () => ({})),
    );
    const bareSent = new Map<string, bigint>();
    const bareUsage = sampleProcess(bare.pid);
    await openLoop(async (i) => {
      bareSent.set(String(i), process.hrtime.bigint());
      bare.broadcast(i);
    });
    const bareDelivered = await awaitDelivery(bareFleet, [...bareSent.keys()], TERMINALS, 300_000);
    const bareStats = bareUsage.stop();
    await bareFleet.close();
    await bare.stop();
    const bareLatencies = [...bareSent].map(([key, t0]) => msSince(t0, bareDelivered.get(key)!.last));
    const theirs = summary(bareLatencies);
    const bareBacklog = backlog([...bareSent.values()], bareLatencies);

    writeScenario({
      scenario: 'sustained',
      title: `Sustained load: ${RATE} publishes/s to ${TERMINALS} terminals for ${SECONDS} s`,
      parameters: {
        rate: RATE,
        seconds: SECONDS,
        terminals: TERMINALS,
        stores: STORES,
        publishes: TOTAL,
        answers: Object.fromEntries(answers),
      },
      metrics: [
        {
          name: 'delivery p50',
          unit: 'ms',
          value: ours.p50,
          baseline: theirs.p50,
          baselineName: 'bare Socket.IO',
          lowerIsBetter: true,
        },
        {
          name: 'delivery p99',
          unit: 'ms',
          value: ours.p99,
          baseline: theirs.p99,
          baselineName: 'bare Socket.IO',
          lowerIsBetter: true,
          // Issue 17 item 2: at most 1.5× the bare server's in the same run.
          goal: 1.5,
        },
        {
          name: 'delivery max',
          unit: 'ms',
          value: ours.max,
          baseline: theirs.max,
          baselineName: 'bare Socket.IO',
          lowerIsBetter: true,
        },
        {
          // Issue 17 item 2's "no growing backlog", measured: 0 when delivery keeps up.
          name: 'delivery time growth over the run',
          unit: 'ms/s',
          value: round(ourBacklog.slope),
          baseline: round(bareBacklog.slope),
          baselineName: 'bare Socket.IO',
          lowerIsBetter: true,
        },
        {
          name: 'delivery p50, first tenth of the publishes',
          unit: 'ms',
          value: ourBacklog.first,
          baseline: bareBacklog.first,
          baselineName: 'bare Socket.IO',
          lowerIsBetter: true,
        },
        {
          name: 'delivery p50, last tenth of the publishes',
          unit: 'ms',
          value: ourBacklog.last,
          baseline: bareBacklog.last,
          baselineName: 'bare Socket.IO',
          lowerIsBetter: true,
        },
        {
          name: 'errors (non-2xx or undelivered)',
          unit: 'publishes',
          value: errors + (delivered ? 0 : sent.size),
          lowerIsBetter: true,
          goal: 0,
          goalIsAbsolute: true,
        },
        ...['200', '202', '503'].map((status) => ({
          name: `publishes answered ${status}`,
          unit: 'publishes',
          value: answers.get(status) ?? 0,
          lowerIsBetter: status !== '200',
        })),
        {
          name: 'publishes without an HTTP answer',
          unit: 'publishes',
          value: [...answers]
            .filter(([answer]) => answer.startsWith('no answer'))
            .reduce((n, [, count]) => n + count, 0),
          lowerIsBetter: true,
        },
        { name: 'projector lag at the end', unit: 'events', value: lag, lowerIsBetter: true },
        { name: 'load generator behind schedule (max)', unit: 'ms', value: round(behindMs), lowerIsBetter: true },
        {
          name: 'gateway CPU (mean)',
          unit: '%',
          value: round(usage.cpuMeanPercent),
          baseline: round(bareStats.cpuMeanPercent),
          baselineName: 'bare Socket.IO',
          lowerIsBetter: true,
        },
        { name: 'command CPU (mean)', unit: '%', value: round(commandUsage.cpuMeanPercent), lowerIsBetter: true },
        { name: 'projector CPU (mean)', unit: '%', value: round(projectorUsage.cpuMeanPercent), lowerIsBetter: true },
        {
          name: 'gateway RSS (peak)',
          unit: 'MiB',
          value: round(usage.rssPeakMiB),
          baseline: round(bareStats.rssPeakMiB),
          baselineName: 'bare Socket.IO',
          lowerIsBetter: true,
        },
      ],
      samples: {
        [`Last Meter sustained ${RATE}/s`]: thin(latencies),
        [`bare Socket.IO sustained ${RATE}/s`]: thin(bareLatencies),
      },
    });
  } finally {
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
