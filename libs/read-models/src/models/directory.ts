import type Redis from 'ioredis';
import type { DomainEvent } from '@lastmeter/contracts';
import {
  regionDecider,
  storeDecider,
  terminalDecider,
  userDecider,
  staffDecider,
  type RegionState,
  type StaffState,
  type StoreState,
  type TerminalState,
  type UserState,
} from '@lastmeter/domain';
import { nextVersion, type ProjectionContext, type ReadModel, type VersionedDoc } from '../model';
import type { RedisKeys } from '../redis-keys';
import { indexStore, indexTerminal } from './directory-index';
import { indexStaff } from './people-reach';

type DirectoryType = 'store' | 'region' | 'terminal' | 'user' | 'staff';
const EVOLVE = {
  store: storeDecider,
  region: regionDecider,
  terminal: terminalDecider,
  user: userDecider,
  staff: staffDecider,
} as const;

export interface DirectoryDoc<State> extends VersionedDoc {
  state: State;
  updatedAt: string;
}

function isDirectory(type: string): type is DirectoryType {
  return type === 'store' || type === 'region' || type === 'terminal' || type === 'user' || type === 'staff';
}

/**
 * Stores, regions, terminals, users and staff. Terminals and staff are also indexed by store. No secret
 * is ever here: events carry none (credentials live in lastmeter.credentials.v1, which no
 * projector reads), and v1 events are upcast without them. A user's doc holds
 * `disabled` and `sessionVersion`, which every gateway checks on each request.
 */
export const directory: ReadModel = {
  name: 'directory',
  documents: (event, keys) =>
    isDirectory(event.aggregateType) ? [keys.model(event.aggregateType, event.aggregateId)] : [],
  project(event: DomainEvent, context: ProjectionContext): void {
    const type = event.aggregateType;
    if (!isDirectory(type)) return;
    const key = context.keys.model(type, event.aggregateId);
    const doc = context.doc<DirectoryDoc<unknown>>(key);
    if (!nextVersion(doc, event)) return;
    const decider = EVOLVE[type] as {
      initialState(id: string): unknown;
      evolve(state: unknown, e: DomainEvent): unknown;
    };
    const before = doc?.state ?? decider.initialState(event.aggregateId);
    const state = decider.evolve(before, event);
    if (type === 'store') indexStore(context, before as StoreState, state as StoreState);
    if (type === 'terminal') {
      indexTerminal(context, state as TerminalState);
      context.write('SADD', context.keys.model('terminals', (state as TerminalState).storeId), event.aggregateId);
    }
    // A store's roster. Names stay sealed here: the read paths open them (docs/privacy.md).
    if (type === 'staff') {
      context.write('SADD', context.keys.model('staff-of', (state as StaffState).storeId), event.aggregateId);
      indexStaff(context, state as StaffState);
    }
    // The user decider bumps the session version whenever old tokens must stop working.
    if (type === 'user' && (state as UserState).sessionVersion !== (before as UserState).sessionVersion) {
      context.announce({ kind: 'user-sessions-ended', userId: event.aggregateId });
    }
    context.write('SADD', context.keys.model(`${type}s`), event.aggregateId);
    if (event.type === 'terminal.revoked') {
      context.announce({ kind: 'terminal-revoked', terminalId: event.aggregateId, storeId: event.data.storeId });
    }
    context.setDoc(key, {
      version: event.aggregateVersion,
      state,
      updatedAt: event.occurredAt,
    } as DirectoryDoc<unknown>);
  },
};

export type TerminalEntry = Omit<TerminalState, 'exists'>;
export type UserEntry = Omit<UserState, 'exists'>;

async function docsOf<State>(redis: Redis, keys: string[]): Promise<State[]> {
  if (keys.length === 0) return [];
  const values = await redis.mget(keys);
  return values.filter((v): v is string => !!v).map((v) => (JSON.parse(v) as DirectoryDoc<State>).state);
}

function withoutExists<T extends { exists: boolean }>(state: T): Omit<T, 'exists'> {
  const { exists: _exists, ...rest } = state;
  return rest;
}

export async function listStores(redis: Redis, keys: RedisKeys): Promise<Array<Omit<StoreState, 'exists'>>> {
  const ids = await redis.smembers(keys.model('stores'));
  const stores = await docsOf<StoreState>(
    redis,
    ids.map((id) => keys.model('store', id)),
  );
  return stores.map(withoutExists).sort((a, b) => a.code.localeCompare(b.code));
}

export async function getStore(
  redis: Redis,
  keys: RedisKeys,
  id: string,
): Promise<Omit<StoreState, 'exists'> | undefined> {
  const [store] = await docsOf<StoreState>(redis, [keys.model('store', id)]);
  return store ? withoutExists(store) : undefined;
}

export async function listRegions(redis: Redis, keys: RedisKeys): Promise<Array<Omit<RegionState, 'exists'>>> {
  const ids = await redis.smembers(keys.model('regions'));
  const regions = await docsOf<RegionState>(
    redis,
    ids.map((id) => keys.model('region', id)),
  );
  return regions.map(withoutExists).sort((a, b) => a.code.localeCompare(b.code));
}

export async function listTerminals(redis: Redis, keys: RedisKeys, storeId?: string): Promise<TerminalEntry[]> {
  const ids = await redis.smembers(storeId ? keys.model('terminals', storeId) : keys.model('terminals'));
  const terminals = await docsOf<TerminalState>(
    redis,
    ids.map((id) => keys.model('terminal', id)),
  );
  return terminals
    .map((t) => withoutExists(t) as TerminalEntry)
    .sort((a, b) => a.storeId.localeCompare(b.storeId) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

export async function getTerminal(redis: Redis, keys: RedisKeys, id: string): Promise<TerminalEntry | undefined> {
  const [terminal] = await docsOf<TerminalState>(redis, [keys.model('terminal', id)]);
  return terminal ? (withoutExists(terminal) as TerminalEntry) : undefined;
}

export async function getUser(redis: Redis, keys: RedisKeys, id: string): Promise<UserEntry | undefined> {
  const [user] = await docsOf<UserState>(redis, [keys.model('user', id)]);
  return user ? withoutExists(user) : undefined;
}

export async function listUsers(redis: Redis, keys: RedisKeys): Promise<UserEntry[]> {
  const ids = await redis.smembers(keys.model('users'));
  const users = await docsOf<UserState>(
    redis,
    ids.map((id) => keys.model('user', id)),
  );
  return users.map(withoutExists).sort((a, b) => a.username.localeCompare(b.username));
}

export type StaffEntry = Omit<StaffState, 'exists'> & { version: number };

/** A store's staff as the log says (names sealed), with each one's version. */
export async function listStaff(redis: Redis, keys: RedisKeys, storeId: string): Promise<StaffEntry[]> {
  const ids = await redis.smembers(keys.model('staff-of', storeId));
  return staffDocs(redis, keys, ids);
}

export async function getStaff(redis: Redis, keys: RedisKeys, id: string): Promise<StaffEntry | undefined> {
  return (await staffDocs(redis, keys, [id]))[0];
}

async function staffDocs(redis: Redis, keys: RedisKeys, ids: string[]): Promise<StaffEntry[]> {
  if (ids.length === 0) return [];
  const values = await redis.mget(ids.map((id) => keys.model('staff', id)));
  return values
    .filter((v): v is string => !!v)
    .map((v) => {
      const doc = JSON.parse(v) as DirectoryDoc<StaffState>;
      return { ...withoutExists(doc.state), version: doc.version };
    });
}
