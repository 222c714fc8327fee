import type Redis from 'ioredis';
import type { DomainEvent, OnlineTerminal, StorePresence } from '@lastmeter/contracts';
import { requireStrings, type ProjectionContext, type ReadModel } from '../model';
import type { RedisKeys } from '../redis-keys';

export type { OnlineTerminal };

/**
 * Who is online per store, from terminal.connected / terminal.disconnected (both keyed
 * by store, so in order). Liveness after a gateway crash is the realtime issue's
 * heartbeat; this is the durable record.
 */
export const presence: ReadModel = {
  name: 'presence',
  project(event: DomainEvent, context: ProjectionContext): void {
    const { keys } = context;
    if (event.type === 'terminal.connected') {
      requireStrings(event.data, 'storeId', 'terminalId', 'gatewayId');
      const { storeId, terminalId, gatewayId } = event.data;
      context.write(
        'HSET',
        keys.model('presence', storeId),
        terminalId,
        JSON.stringify({ gatewayId, since: event.occurredAt }),
      );
      context.write('SADD', keys.model('presence', 'stores'), storeId);
      context.announce({ kind: 'presence-changed', storeId });
    } else if (event.type === 'terminal.disconnected') {
      requireStrings(event.data, 'storeId', 'terminalId');
      context.write('HDEL', keys.model('presence', event.data.storeId), event.data.terminalId);
      context.announce({ kind: 'presence-changed', storeId: event.data.storeId });
    }
  },
};

export async function readPresence(redis: Redis, keys: RedisKeys, storeIds?: string[]): Promise<StorePresence[]> {
  const stores = storeIds ?? (await redis.smembers(keys.model('presence', 'stores')));
  const all = await Promise.all(stores.map((storeId) => redis.hgetall(keys.model('presence', storeId))));
  return stores
    .map((storeId, i) => ({
      storeId,
      online: Object.entries(all[i])
        .map(([terminalId, json]) => ({ terminalId, ...(JSON.parse(json) as Omit<OnlineTerminal, 'terminalId'>) }))
        .sort((a, b) => a.terminalId.localeCompare(b.terminalId)),
    }))
    .sort((a, b) => a.storeId.localeCompare(b.storeId));
}
