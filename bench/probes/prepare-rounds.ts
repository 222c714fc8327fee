/**
 * What `publish-cpu` and `round-timeline` do before their rounds: 10 stores, a draft for
 * every publish, the broker warmed as `end-to-end` warms it (with at most `warmBrokerMax`
 * of the drafts), N terminals connected to the stores and a bare Socket.IO server with as
 * many clients for the same rounds, then a quiet pipeline.
 */
import { openBareFanout } from '../fanout-floor.bench';
import { warmBroker } from '../lib/broker-warmth';
import type { Fleet } from '../lib/fleet';
import { draftNotices, publish, setUpStores, terminalsOf, untilQuiet, type Stack } from '../lib/stack';
import type { BenchInfra } from '../support';

export async function prepareRounds(
  infra: BenchInfra,
  stack: Stack,
  fleet: Fleet,
  terminals: number,
  publishes: number,
  warmBrokerMax: number,
): Promise<{ drafts: string[]; bare: Awaited<ReturnType<typeof openBareFanout>> }> {
  const stores = await setUpStores(stack, 10);
  const drafts = await draftNotices(stack, publishes + warmBrokerMax);
  if (warmBrokerMax > 0) {
    const warmth = await warmBroker(infra.kafkaPid, drafts.splice(0, warmBrokerMax), async (id) => {
      await publish(stack, id);
    });
    console.error(`broker warmed: ${JSON.stringify(warmth)}`);
  }
  await fleet.connect('terminal', stack.urls.gateway, await terminalsOf(stack, stores, terminals));
  const bare = await openBareFanout('socketio', terminals);
  await untilQuiet(stack, 1_000);
  return { drafts, bare };
}
