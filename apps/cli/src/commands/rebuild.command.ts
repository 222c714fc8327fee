import { Command } from 'commander';
import {
  currentGeneration,
  dropGeneration,
  markIntact,
  nextGeneration,
  ProjectionRunner,
  RedisKeys,
  switchGeneration,
} from '@lastmeter/read-models';
import { connectDeployment } from '../endpoints';
import { color, info, UserFacingError } from '../output';

const TICK_MS = 1_000;
/** How long live projectors get to move to the new generation before the old one is dropped anyway. */
const HANDOVER_TIMEOUT_MS = 30_000;
const NEAR_END = 100;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}

/**
 * `lastmeter rebuild`: projects every read model into a new generation from offset 0
 * with a fresh consumer group while the serving generation keeps serving, shows
 * progress, switches `meta:generation` atomically once caught up, waits for the live
 * projectors to follow, and deletes the old generation. Commands keep flowing meanwhile:
 * the new generation is caught up to the moving end of the log before the switch.
 */
export function rebuildCommand(): Command {
  return new Command('rebuild')
    .description('rebuild every read model from the event log into a new generation, then switch to it')
    .option('--keep-old', 'keep the previous generation in Redis after the switch')
    .action(async (options: { keepOld?: boolean }) => {
      const deployment = await connectDeployment('rebuild');
      const { redis, kafka, topics, keyPrefix } = deployment;
      try {
        const from = await currentGeneration(redis, keyPrefix);
        const to = nextGeneration(from);
        const target = new RedisKeys(keyPrefix, to);
        const leftovers = await dropGeneration(redis, target);
        if (leftovers > 0) info(`removed ${leftovers} keys of an unfinished rebuild into ${to}`);
        info(`rebuilding ${color.bold(to)} from offset 0 while ${from} serves`);
        let switched = false;
        let applied = 0;
        let deadLetters = 0;
        const runner = new ProjectionRunner({
          kafka,
          redis,
          topics,
          keys: target,
          notify: () => switched,
          onBatch: ({ result }) => {
            applied += result.applied;
            deadLetters += result.failed.length;
          },
          log: { warn: (m) => info(color.yellow(m)), error: (m) => info(color.red(m)) },
        });
        const started = Date.now();
        await runner.start();
        let lastApplied = 0;
        let nearEnd = 0;
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, TICK_MS));
          const lags = await runner.lag();
          const end = lags.reduce((n, l) => n + l.end, 0);
          const behind = lags.reduce((n, l) => n + l.lag, 0);
          const rate = (applied - lastApplied) / (TICK_MS / 1_000);
          lastApplied = applied;
          const percent = end === 0 ? 100 : ((end - behind) / end) * 100;
          info(
            `${percent.toFixed(1).padStart(5)}%  ${applied} events applied  ${Math.round(rate)} events/s  ` +
              `${behind} behind  ETA ${duration(rate > 0 ? behind / rate : behind === 0 ? 0 : Infinity)}` +
              (deadLetters ? color.yellow(`  ${deadLetters} dead letters`) : ''),
          );
          // Commands keep flowing: "caught up" is at the end now, or within a few
          // events of it for a few ticks (the projectors that take over carry on).
          nearEnd = behind < NEAR_END ? nearEnd + 1 : 0;
          if (behind === 0 || nearEnd >= 3) break;
        }
        // Caught up from offset 0: whole, so readers may be sent to it.
        await markIntact(redis, target);
        if (!(await switchGeneration(redis, keyPrefix, from, to))) {
          await runner.stop();
          throw new UserFacingError(`${from} no longer serves (another rebuild switched first); ${to} left in place`);
        }
        switched = true;
        info(`switched serving from ${from} to ${color.bold(to)}`);
        await waitForProjectors(redis, new RedisKeys(keyPrefix).meta('projectors'), to);
        await runner.stop();
        if (!options.keepOld) {
          const deleted = await dropGeneration(redis, new RedisKeys(keyPrefix, from));
          info(`deleted ${deleted} keys of ${from}`);
        }
        const seconds = (Date.now() - started) / 1_000;
        process.stdout.write(
          `rebuilt ${to}: ${applied} events in ${seconds.toFixed(1)}s (${Math.round(applied / seconds)} events/s)` +
            `${deadLetters ? `, ${deadLetters} dead letters` : ''}\n`,
        );
      } finally {
        await deployment.close();
      }
    });
}

/** Waits until every live projector reports writing `generation` (or the hand-over times out). */
async function waitForProjectors(redis: import('ioredis').default, key: string, generation: string) {
  const deadline = Date.now() + HANDOVER_TIMEOUT_MS;
  for (;;) {
    const live = Object.values(await redis.hgetall(key))
      .map((json) => JSON.parse(json) as { generation: string; at: string })
      .filter((p) => Date.now() - Date.parse(p.at) < 5_000);
    const behind = live.filter((p) => p.generation !== generation).length;
    if (behind === 0) {
      info(live.length ? `${live.length} live projector(s) now write ${generation}` : 'no live projector runs');
      return;
    }
    if (Date.now() > deadline) {
      info(color.yellow(`${behind} projector(s) still on the old generation after 30s; continuing`));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
