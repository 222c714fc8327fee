/**
 * What the gateway's abuse limits cost (issue 14): fan-out (HTTP publish → last of N
 * terminals) and receipt throughput (every terminal sends delivered, read, acknowledged
 * for one communication, each once the previous one was acked, all terminals at once,
 * from load processes of their own), with the limits at their defaults against the same
 * build with them out of reach, in the same run. Goal: the limits cost at most 5%.
 *
 * Two gateways of the same build run side by side on one stack (command, projector, one
 * Kafka, Redis and namespace; the stack's own gateway only answers the harness's reads),
 * "on" with the default limits and "off" with them out of reach. Each has N terminals of
 * its own in stores of its own, so a publish to one arm's stores reaches that arm only.
 * Measurements alternate between them (on, off, off, on, …), one publish or one burst of
 * receipts at a time, so that whatever else the machine does meanwhile weighs on both
 * alike. In the second of two segments the arms swap places (store set, terminals, the
 * order the gateways started in), so that what comes with a place cancels out too.
 */
import { gatewayEnv } from '@lastmeter/config';
import { RECEIPT_KINDS, type CommunicationView } from '@lastmeter/contracts';
import { Fleet, msSince } from './lib/fleet';
import { procStats } from './lib/proc-stats';
import { round, sized, summary, thin, writeScenario, type Metric } from './lib/results';
import { draftNotices, publishRounds, setUpStores, startStack, terminalsOf, untilQuiet } from './lib/stack';
import { benchInfra, runMain } from './support';

/** Terminals per arm; BENCH_LIMITS_TERMINALS=10000 for the end-to-end scale. */
const TERMINALS = Number(process.env.BENCH_LIMITS_TERMINALS ?? sized({ full: 2_000, quick: 500, tiny: 10 }));
/** Stores per arm. */
const STORES = sized({ full: 5, quick: 3, tiny: 1 });
/** Per segment and arm: measured publishes, after WARM_UP not counted (new gateways). */
const ROUNDS = sized({ full: 15, quick: 8, tiny: 1 });
const WARM_UP = sized({ full: 3, quick: 3, tiny: 1 });
/** Per segment and arm: measured bursts of TERMINALS × 3 receipts, after one not counted. */
const BURSTS = sized({ full: 2, quick: 1, tiny: 1 });
/** Receipts queue behind one another (10,000 terminals' take tens of seconds to ack). */
const ACK_TIMEOUT_MS = 300_000;

type Arm = 'on' | 'off';
/** The arm at each of the two places (store set and terminals, gateway started first or second), per segment. */
const SEGMENTS: Array<[Arm, Arm]> = [
  ['on', 'off'],
  ['off', 'on'],
];
/** Places in the order 0, 1, 1, 0, 0, 1, …: neither goes first every time. */
const alternate = (i: number): [number, number] => (i % 2 === 0 ? [0, 1] : [1, 0]);

/** Out of reach: the same code runs, nothing is ever refused or dropped. */
const OUT_OF_REACH = '1000000000';
const LIMIT_VARS = [
  'TERMINAL_MESSAGE_RATE',
  'TERMINAL_MESSAGE_BURST',
  'TERMINAL_FLOOD_STRIKES',
  'TERMINAL_MAX_SOCKETS',
] as const;
const ARM_ENV: Record<Arm, Record<string, string>> = {
  on: Object.fromEntries(LIMIT_VARS.map((name) => [name, String(gatewayEnv[name].default)])),
  off: Object.fromEntries(LIMIT_VARS.map((name) => [name, OUT_OF_REACH])),
};

interface Burst {
  acked: number;
  refused: number;
  rateLimited: number;
  unacked: number;
  errors: string[];
  seconds: number;
  latencies: number[];
  /** Gateway CPU seconds (user + system) during the burst. */
  cpuSeconds: number;
}

/** What one arm measured, by segment. */
interface ArmData {
  connectSeconds: number;
  fanout: number[][];
  bursts: Burst[][];
  warmUps: Burst[];
}

const newArm = (): ArmData => ({ connectSeconds: 0, fanout: [[], []], bursts: [[], []], warmUps: [] });

function armTotals(data: ArmData) {
  const bursts = data.bursts.flat();
  const acked = bursts.reduce((n, b) => n + b.acked, 0);
  const seconds = bursts.reduce((n, b) => n + b.seconds, 0);
  const cpu = bursts.reduce((n, b) => n + b.cpuSeconds, 0);
  const perSecond = (list: Burst[]) =>
    list.reduce((n, b) => n + b.acked, 0) /
    Math.max(
      1e-9,
      list.reduce((n, b) => n + b.seconds, 0),
    );
  return {
    fanout: summary(data.fanout.flat()),
    receiptsPerSecond: round(acked / seconds),
    ack: summary(bursts.flatMap((b) => b.latencies)),
    acked,
    refused: [...bursts, ...data.warmUps].reduce((n, b) => n + b.refused + b.unacked, 0),
    rateLimited: [...bursts, ...data.warmUps].reduce((n, b) => n + b.rateLimited, 0),
    gatewayCpuMicrosPerReceipt: round((1e6 * cpu) / Math.max(1, acked)),
    connectPerSecond: round((TERMINALS * SEGMENTS.length) / data.connectSeconds),
    bySegment: SEGMENTS.map((_, s) => ({
      fanoutP50ms: summary(data.fanout[s]).p50,
      receiptsPerSecond: round(perSecond(data.bursts[s])),
    })),
    bursts: data.bursts.map((list) =>
      list.map((b) => ({
        receiptsPerSecond: round(b.acked / b.seconds),
        ackP50ms: summary(b.latencies).p50,
        ackP99ms: summary(b.latencies).p99,
        gatewayCpuMicrosPerReceipt: round((1e6 * b.cpuSeconds) / Math.max(1, b.acked)),
        ...(b.refused + b.unacked ? { refused: b.refused, rateLimited: b.rateLimited, unacked: b.unacked } : {}),
        ...(b.errors.length ? { errors: b.errors } : {}),
      })),
    ),
    warmUpBursts: data.warmUps.map((b) => ({
      acked: b.acked,
      refused: b.refused + b.unacked,
      seconds: round(b.seconds),
    })),
  };
}

/** Median, min and max of on/off over measurements taken next to each other. */
function pairedRatios(on: number[], off: number[]): { median: number; min: number; max: number } {
  const ratios = on.map((v, i) => v / off[i]).sort((a, b) => a - b);
  return {
    median: round(ratios[Math.floor((ratios.length - 1) / 2)] ?? 0, 3),
    min: round(ratios[0] ?? 0, 3),
    max: round(ratios[ratios.length - 1] ?? 0, 3),
  };
}

/** p50 of each block of 4 publishes, segment by segment. */
function blockP50s(fanout: number[][]): number[] {
  return fanout.flatMap((list) => {
    const out: number[] = [];
    for (let i = 0; i < list.length; i += 4) out.push(summary(list.slice(i, i + 4)).p50);
    return out;
  });
}

async function main(): Promise<void> {
  const infra = await benchInfra();
  const stack = await startStack(infra);
  const arms: Record<Arm, ArmData> = { on: newArm(), off: newArm() };
  try {
    const allStores = await setUpStores(stack, 2 * STORES);
    const perSegment = WARM_UP + ROUNDS;
    const places = await Promise.all(
      [0, 1].map(async (p) => {
        const stores = allStores.slice(p * STORES, (p + 1) * STORES);
        return { stores, drafts: await draftNotices(stack, 2 * perSegment, 25, { storeIds: stores }) };
      }),
    );

    for (const [s, armAt] of SEGMENTS.entries()) {
      console.error(`limits cost, segment ${s + 1}/2: limits ${armAt[0]} at place 1, ${armAt[1]} at place 2`);
      const gateways = [];
      for (const arm of armAt) gateways.push(await stack.another('gateway', ARM_ENV[arm]));
      const fleets = armAt.map(() => Fleet.for(TERMINALS));
      try {
        // Connections in halves, 0, 1, 1, 0 (each connect runs the socket cap's EVAL).
        const half = Math.ceil(TERMINALS / 2);
        for (const [i, p] of [...alternate(0), ...alternate(1)].entries()) {
          const first = i < 2;
          const count = first ? half : TERMINALS - half;
          if (count === 0) continue;
          const offset = (2 * s + p) * TERMINALS + (first ? 0 : half);
          const terminals = await terminalsOf(stack, places[p].stores, count, offset);
          const t0 = process.hrtime.bigint();
          await fleets[p].connect('terminal', gateways[p].url, terminals);
          arms[armAt[p]].connectSeconds += msSince(t0, process.hrtime.bigint()) / 1_000;
        }
        await untilQuiet(stack);

        for (let r = 0; r < perSegment; r++) {
          for (const p of alternate(r)) {
            const id = places[p].drafts[s * perSegment + r];
            const { latencies } = await publishRounds(stack, fleets[p], [id], TERMINALS, 0);
            if (r >= WARM_UP) arms[armAt[p]].fanout[s].push(...latencies);
          }
        }

        // The first burst at each place warms up (the new gateway's receipt path, the
        // projector's) and is not counted.
        for (let b = -1; b < BURSTS; b++) {
          for (const p of alternate(b + 1)) {
            const arm = armAt[p];
            // A communication every terminal of the place has (publishRounds waited for each).
            const communicationId = places[p].drafts[s * perSegment + (b < 0 ? 0 : WARM_UP + b)];
            const { revision } = await stack.read<CommunicationView>(`/communications/${communicationId}`);
            await untilQuiet(stack);
            const pid = gateways[p].process.pid!;
            const cpu0 = procStats(pid).cpuSeconds;
            const r = await fleets[p].receipts(communicationId, revision, [...RECEIPT_KINDS], ACK_TIMEOUT_MS);
            const burst: Burst = { ...r, unacked: r.failed, cpuSeconds: procStats(pid).cpuSeconds - cpu0 };
            if (b < 0) arms[arm].warmUps.push(burst);
            else arms[arm].bursts[s].push(burst);
            console.error(
              `  limits ${arm}${b < 0 ? ' (warm-up)' : ''}: ${r.acked} receipts acked in ${r.seconds.toFixed(1)} s` +
                (r.refused + r.failed ? `, ${r.refused} refused, ${r.failed} unacked` : ''),
            );
          }
        }
      } finally {
        await Promise.all(fleets.map((fleet) => fleet.close()));
        await Promise.all(gateways.map((gateway) => gateway.stop()));
      }
    }

    const on = armTotals(arms.on);
    const off = armTotals(arms.off);
    const baseline = { baselineName: 'limits off' };
    const metrics: Metric[] = [
      {
        name: `fan-out: publish → last of ${TERMINALS} terminals, p50`,
        unit: 'ms',
        value: on.fanout.p50,
        baseline: off.fanout.p50,
        ...baseline,
        lowerIsBetter: true,
        goal: 1.05,
      },
      {
        name: `fan-out: publish → last of ${TERMINALS} terminals, p99`,
        unit: 'ms',
        value: on.fanout.p99,
        baseline: off.fanout.p99,
        ...baseline,
        lowerIsBetter: true,
      },
      {
        name: `receipts acked per second (${TERMINALS} terminals × 3 at once)`,
        unit: '/s',
        value: on.receiptsPerSecond,
        baseline: off.receiptsPerSecond,
        ...baseline,
        lowerIsBetter: false,
        // At most 5% fewer.
        goal: 0.95,
      },
      {
        name: 'receipt ack latency p50',
        unit: 'ms',
        value: on.ack.p50,
        baseline: off.ack.p50,
        ...baseline,
        lowerIsBetter: true,
      },
      {
        name: 'receipt ack latency p99',
        unit: 'ms',
        value: on.ack.p99,
        baseline: off.ack.p99,
        ...baseline,
        lowerIsBetter: true,
      },
      {
        name: 'gateway CPU per acked receipt',
        unit: 'µs',
        value: on.gatewayCpuMicrosPerReceipt,
        baseline: off.gatewayCpuMicrosPerReceipt,
        ...baseline,
        lowerIsBetter: true,
      },
      {
        name: 'terminals connected per second',
        unit: '/s',
        value: on.connectPerSecond,
        baseline: off.connectPerSecond,
        ...baseline,
        lowerIsBetter: false,
      },
      {
        name: 'receipts refused or unacked, limits on',
        unit: 'receipts',
        value: on.refused,
        lowerIsBetter: true,
        goal: 0,
        goalIsAbsolute: true,
      },
    ];
    const paired = {
      fanoutP50: pairedRatios(blockP50s(arms.on.fanout), blockP50s(arms.off.fanout)),
      receiptsPerSecond: pairedRatios(
        on.bursts.flat().map((b) => b.receiptsPerSecond),
        off.bursts.flat().map((b) => b.receiptsPerSecond),
      ),
    };
    // Per segment, on/off = (limits effect) × (place effect)^±1: their geometric mean is the
    // first, the square root of their quotient the second.
    const segmentRatios = (pick: (s: { fanoutP50ms: number; receiptsPerSecond: number }) => number) =>
      SEGMENTS.map((_, s) => round(pick(on.bySegment[s]) / pick(off.bySegment[s]), 3));
    const bySegment = {
      fanoutP50: segmentRatios((x) => x.fanoutP50ms),
      receiptsPerSecond: segmentRatios((x) => x.receiptsPerSecond),
    };
    const place = (ratios: number[]) => round(Math.sqrt(ratios[0] / ratios[1]), 3);
    const range = (r: { median: number; min: number; max: number }) => `median ${r.median} (${r.min} … ${r.max})`;
    const notes = [
      `"limits off" is the same build with ${LIMIT_VARS.join(', ')} = ${OUT_OF_REACH}: nothing is refused or dropped, ` +
        "but the limits' code still runs in both arms: the token bucket arithmetic on each message, the socket cap's " +
        'EVAL on each connect, the token-expiry timer of each socket, and the receipt revision check (a GET pipelined ' +
        'with the SISMEMBER, which has no setting). The ratio is the cost of enforcing the default limits on traffic ' +
        'within them, not that of the code against a gateway without it. No client → server message is sent during ' +
        'the fan-out rounds: there both arms run the same code.',
      `Two gateways side by side, ${TERMINALS} terminals each in ${STORES} stores each, two segments with the arms ` +
        `swapping places; per segment and arm ${ROUNDS} publishes after ${WARM_UP} not counted, then ${BURSTS} ` +
        `burst(s) of ${TERMINALS} × 3 receipts after 1 not counted, alternating. On/off of measurements taken next to ` +
        `each other: fan-out p50 (blocks of 4 publishes) ${range(paired.fanoutP50)}; receipts/s ` +
        `${range(paired.receiptsPerSecond)}. By segment: fan-out p50 ${bySegment.fanoutP50.join(', ')}, receipts/s ` +
        `${bySegment.receiptsPerSecond.join(', ')}, i.e. a place effect of ×${place(bySegment.fanoutP50)} and ` +
        `×${place(bySegment.receiptsPerSecond)}, which the swap cancels.`,
      `Limits on: ${on.rateLimited} receipts rate-limited, ${on.refused} refused or unacked in all, warm-up included ` +
        `(limits off: ${off.refused}); 3 receipts per terminal are well within the default burst of ` +
        `${ARM_ENV.on.TERMINAL_MESSAGE_BURST}.`,
    ];
    writeScenario({
      scenario: 'limits-cost',
      title: 'Cost of the gateway limits: fan-out and receipts, limits on against off',
      parameters: {
        terminalsPerArm: TERMINALS,
        storesPerArm: STORES,
        segments: SEGMENTS,
        roundsPerSegment: ROUNDS,
        warmUpPerSegment: WARM_UP,
        burstsPerSegment: BURSTS,
        env: ARM_ENV,
        arms: { on, off },
        pairedRatios: paired,
        segmentRatios: bySegment,
      },
      metrics,
      samples: {
        [`limits on: fan-out to ${TERMINALS}`]: thin(arms.on.fanout.flat()),
        [`limits off: fan-out to ${TERMINALS}`]: thin(arms.off.fanout.flat()),
      },
      notes,
    });
  } finally {
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
