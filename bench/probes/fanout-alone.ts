/**
 * Probe (not a scenario): the gateway's fan-out alone. The whole stack runs, 1,000
 * terminals in 10 stores are connected, and the probe publishes, straight on the feed
 * channel, the notice the command service would send on commit (items made from a real
 * publish's, with the next feedSeq): nothing else runs while the gateway writes. Timed
 * from the PUBLISH to the last terminal, against bare Socket.IO's broadcast to the same
 * number of clients in the same run, and the CPU time each server took per round.
 * `node dist/bench/probes/fanout-alone.js [terminals] [rounds]`
 */
import Redis from 'ioredis';
import { encodeCommittedFeedNotice, feedChannel, readFeedNotice } from '@lastmeter/redis';
import { bareRounds, openBareFanout } from '../fanout-floor.bench';
import { awaitDelivery, Fleet, msSince } from '../lib/fleet';
import { summary } from '../lib/results';
import { draftNotices, publish, setUpStores, startStack, terminalsOf, untilQuiet } from '../lib/stack';
import { procStats } from '../lib/proc-stats';
import { benchInfra, runMain } from '../support';

async function main(): Promise<void> {
  const terminals = Number(process.argv[2] ?? 1000);
  const rounds = Number(process.argv[3] ?? 30);
  const infra = await benchInfra();
  const stack = await startStack(infra);
  const fleet = Fleet.for(terminals);
  const redis = new Redis(infra.redisUrl);
  const sub = new Redis(infra.redisUrl);
  try {
    const stores = await setUpStores(stack, 10);
    await fleet.connect('terminal', stack.urls.gateway, await terminalsOf(stack, stores, terminals));
    // One real publish: its notice on commit is the template.
    const notices: string[] = [];
    await sub.subscribe(feedChannel(stack.prefix));
    sub.on('message', (_channel: string, message: string) => notices.push(message));
    const [draft] = await draftNotices(stack, 1);
    await publish(stack, draft!);
    await awaitDelivery(fleet, [draft!], terminals);
    await untilQuiet(stack, 1_000);
    // The stores whose items the notice on commit carried, one item each (a publish).
    const template = readFeedNotice(notices.find((n) => n.includes('"items"'))!).heads.filter((h) => h.items);
    const samples: number[] = [];
    let gatewayCpu = cpuMeter(stack.processes.gateway!.pid!);
    for (let round = 0; round < rounds + 3; round++) {
      if (round === 3) gatewayCpu = cpuMeter(stack.processes.gateway!.pid!);
      const id = `00000000-0000-4000-8000-${String(round).padStart(12, '0')}`;
      const appended = template.map(({ storeId, feedSeq, items }) => {
        const item = JSON.parse(items![0]!) as { feedSeq: number; communication: { id: string } };
        item.feedSeq = feedSeq + round + 1;
        item.communication.id = id;
        return { storeId, feedSeq: item.feedSeq, item: JSON.stringify(item) };
      });
      // As the command service sends it (committed: Redis does not hold these items).
      const notice = encodeCommittedFeedNotice(appended)!;
      const t0 = process.hrtime.bigint();
      await redis.publish(feedChannel(stack.prefix), notice);
      const delivered = (await awaitDelivery(fleet, [id], terminals)).get(id)!;
      if (round >= 3) samples.push(msSince(t0, delivered.last));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const gatewayCpuMsPerRound = gatewayCpu() / rounds;
    const alone = summary(samples);
    await fleet.close();
    const { latencies, serverCpuMsPerRound } = await bareWithCpu(terminals, rounds);
    const bare = summary(latencies);
    console.log(
      JSON.stringify({
        terminals,
        rounds,
        gatewayAlone: alone,
        bareSocketIo: bare,
        ratioP50: alone.p50 / bare.p50,
        // CPU time (user + system, /proc, 10 ms ticks) over the timed rounds and their pauses, per round.
        gatewayCpuMsPerRound,
        bareServerCpuMsPerRound: serverCpuMsPerRound,
        cpuRatio: gatewayCpuMsPerRound / serverCpuMsPerRound,
      }),
    );
  } finally {
    await fleet.close().catch(() => undefined);
    redis.disconnect();
    sub.disconnect();
    await stack.stop();
    await infra.stop();
  }
}

/** The CPU time (ms, user + system, /proc, 10 ms ticks) process `pid` has used since this call. */
function cpuMeter(pid: number): () => number {
  const start = procStats(pid).cpuSeconds;
  return () => (procStats(pid).cpuSeconds - start) * 1000;
}

/** Bare Socket.IO's broadcast to as many clients, paced as the gateway's rounds, and its server's CPU per round. */
async function bareWithCpu(terminals: number, rounds: number) {
  const bare = await openBareFanout('socketio', terminals);
  try {
    let serverCpu = cpuMeter(bare.pids.server!);
    const latencies = await bareRounds(bare, rounds, () => (serverCpu = cpuMeter(bare.pids.server!)));
    return { latencies, serverCpuMsPerRound: serverCpu() / rounds };
  } finally {
    await bare.close();
  }
}

runMain(main);
