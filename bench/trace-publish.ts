/**
 * A trace of national publishes (not a scenario of `npm run bench`): where the time goes
 * between the HTTP answer and the last terminal. `node dist/bench/trace-publish.js
 * <stores> <terminals> [rounds]` prints, per publish, when the feed topic had its first
 * and last entry (read_committed), when the projector's first and last Redis
 * notification came, and when the first and last terminal had it, all from the HTTP answer.
 */
import Redis from 'ioredis';
import { topicNames } from '@lastmeter/contracts';
import { createKafkaClient } from '@lastmeter/kafka';
import { feedChannel } from '@lastmeter/redis';
import { awaitDelivery, Fleet, msSince } from './lib/fleet';
import { draftNotices, publish, startStack, storeIds, untilQuiet } from './lib/stack';
import { benchInfra, runMain } from './support';

async function main(): Promise<void> {
  const [stores, terminals, rounds] = process.argv.slice(2).map(Number);
  const infra = await benchInfra();
  const stack = await startStack(infra);
  const fleet = Fleet.for(terminals!);
  const seen = { feed: [] as bigint[], notified: [] as bigint[] };
  const consumer = createKafkaClient({ brokers: [infra.brokers], clientId: 'bench-trace' }).consumer({
    groupId: `trace-${Date.now()}`,
  });
  const sub = new Redis(infra.redisUrl);
  try {
    const lines = ['kind,code,name,region', 'region,t,T,'];
    for (let i = 0; i < stores!; i++) lines.push(`store,t-${i},Store ${i},t`);
    const response = await fetch(`${stack.urls.command}/v1/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.token('hq-admin')}`, 'content-type': 'text/csv' },
      body: lines.join('\n'),
    });
    if (!response.ok) throw new Error(`import: ${response.status}`);
    await untilQuiet(stack);
    const ids = await storeIds(stack, terminals!);
    await fleet.connect(
      'terminal',
      stack.urls.gateway,
      ids.map((storeId, i) => ({ token: stack.token('terminal', { sub: `t-${i}`, storeId }) })),
    );
    await consumer.connect();
    await consumer.subscribe({ topic: topicNames(stack.prefix).feed, fromBeginning: false });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = process.hrtime.bigint();
        for (let i = 0; i < batch.messages.length; i++) seen.feed.push(now);
      },
    });
    await sub.subscribe(feedChannel(stack.prefix));
    sub.on('message', () => seen.notified.push(process.hrtime.bigint()));
    await new Promise((r) => setTimeout(r, 3000));
    const drafts = await draftNotices(stack, rounds ?? 5, 5);
    await untilQuiet(stack);
    await fleet.collect();
    for (const id of drafts) {
      seen.feed = [];
      seen.notified = [];
      const t0 = process.hrtime.bigint();
      await publish(stack, id);
      const t1 = process.hrtime.bigint();
      const delivered = (await awaitDelivery(fleet, [id], terminals!, 120_000)).get(id)!;
      await untilQuiet(stack, 500);
      const at = (t: bigint | undefined) => (t === undefined ? '-' : msSince(t1, t).toFixed(0));
      console.error(
        `answer ${msSince(t0, t1).toFixed(0)} ms | feed ${seen.feed.length} entries ${at(seen.feed[0])}…${at(seen.feed.at(-1))} | notified ${seen.notified.length} ${at(seen.notified[0])}…${at(seen.notified.at(-1))} | terminals ${at(delivered.first)}…${at(delivered.last)} ms`,
      );
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    sub.disconnect();
    await fleet.close();
    await stack.stop();
    await infra.stop();
  }
}

runMain(main);
