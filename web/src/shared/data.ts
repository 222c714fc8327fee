import { createContext, useContext } from 'react';
import { keepPreviousData, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import type {
  AudienceCount,
  CommandResult,
  CommunicationView,
  Page,
  RegionView,
  StoreCompliance,
  StorePresence,
  StoreView,
  TerminalView,
  UserView,
  ReportView,
} from '@lastmeter/contracts';
import { query, read, write, type RequestOptions } from './api';
import type { Session } from './session';

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSessionToken(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('no session');
  return session;
}

/** Read-API queries of the console, keyed so that socket pushes and commands can update them. */
export function useRead<T>(
  key: unknown[],
  path: string | undefined,
  options: { refetchInterval?: number; staleTime?: number } = {},
) {
  const session = useSessionToken();
  return useQuery({
    queryKey: key,
    queryFn: ({ signal }) => read<T>(path!, session.token, signal),
    enabled: !!path,
    ...options,
  });
}

// Others change communications too (agency, other editors): lists refresh on their own,
// and a communication is read afresh whenever it is opened.
export const useCommunications = (status?: string) =>
  useRead<Page<CommunicationView>>(
    ['communications', status ?? 'all'],
    `/v1/communications${query({ status, limit: 200 })}`,
    {
      refetchInterval: 10_000,
      staleTime: 0,
    },
  );
export const useCommunication = (id: string | undefined) =>
  useRead<CommunicationView>(['communication', id], id ? `/v1/communications/${id}` : undefined, { staleTime: 0 });
export const useRegions = () => useRead<Page<RegionView>>(['regions'], '/v1/regions');
/** The first 500 stores by code: names for tables and pickers (larger directories: useStorePage). */
export const useStores = () => useRead<Page<StoreView>>(['stores'], '/v1/stores?limit=500');

export interface StoreFilter {
  q?: string;
  regionId?: string;
  tag?: string;
}

/** One page of the directory, searched on the server (`q`: code or name-word prefix). */
export function useStorePage(filter: StoreFilter, cursor: string | undefined, limit = 50) {
  const session = useSessionToken();
  const path = `/v1/stores${query({ q: filter.q?.trim(), regionId: filter.regionId, tag: filter.tag?.trim(), limit, cursor })}`;
  return useQuery({
    queryKey: ['stores', 'page', path],
    queryFn: ({ signal }) => read<Page<StoreView>>(path, session.token, signal),
    placeholderData: keepPreviousData,
  });
}

/** How many stores and terminals an audience reaches, counted by the server with the planner's rule. */
export function useAudienceCount(
  audience: {
    all?: boolean;
    regionIds?: string[];
    storeIds?: string[];
    tags?: string[];
    roles?: string[];
  },
  options: { locales?: boolean } = {},
) {
  const session = useSessionToken();
  const path = `/v1/audience/count${query({
    all: audience.all ? 'true' : undefined,
    regionIds: audience.regionIds?.join(','),
    storeIds: audience.storeIds?.join(','),
    tags: audience.tags?.join(','),
    roles: audience.roles?.join(','),
    locales: options.locales ? 'true' : undefined,
  })}`;
  return useQuery({
    queryKey: ['stores', 'audience-count', path],
    queryFn: ({ signal }) => read<AudienceCount>(path, session.token, signal),
    placeholderData: keepPreviousData,
    staleTime: 5_000,
  });
}
/** Terminals by store, a page at a time (`GET /v1/terminals` pages them; up to 500 per page). */
export const useTerminals = (cursor?: string, limit = 500) =>
  useRead<Page<TerminalView>>(['terminals', cursor ?? ''], `/v1/terminals${query({ limit, cursor })}`);
export const useUsers = () => useRead<Page<UserView>>(['users'], '/v1/users');
export const useCompliance = () =>
  useRead<{ items: StoreCompliance[] }>(['compliance'], '/v1/compliance', { refetchInterval: 15_000 });
/** One page of the presence board: the stores of one directory page (same filter and cursor), zeros included. */
export function usePresencePage(filter: StoreFilter, cursor: string | undefined, limit = 50) {
  const session = useSessionToken();
  const path = `/v1/presence${query({ q: filter.q?.trim(), regionId: filter.regionId, tag: filter.tag?.trim(), limit, cursor })}`;
  return useQuery({
    queryKey: ['presence', path],
    queryFn: ({ signal }) => read<{ items: StorePresence[]; next?: string }>(path, session.token, signal),
    placeholderData: keepPreviousData,
  });
}
export const useReports = () => useRead<Page<ReportView>>(['reports'], '/v1/reports?limit=100');

/** One page of the compliance board: the stores of one directory page (same filter and cursor), zeros included. */
export function useCompliancePage(filter: StoreFilter, cursor: string | undefined, limit = 50) {
  const session = useSessionToken();
  const path = `/v1/compliance${query({ q: filter.q?.trim(), regionId: filter.regionId, tag: filter.tag?.trim(), limit, cursor })}`;
  return useQuery({
    queryKey: ['compliance', path],
    queryFn: ({ signal }) => read<{ at: string; items: StoreCompliance[]; next?: string }>(path, session.token, signal),
    placeholderData: keepPreviousData,
    // Overdue is a matter of the clock.
    refetchInterval: 15_000,
  });
}

/** Ids in a stable order without repeats, so the same rows on screen make the same query. */
function idSet(ids: Array<string | undefined>): string[] {
  return [...new Set(ids.filter((id): id is string => !!id))].sort();
}

/**
 * The stores with these ids (`GET /v1/stores?ids=`, at most 500): names for the rows a
 * screen shows, never the whole directory. Unknown ids are left out of the map.
 */
export function useStoresById(ids: Array<string | undefined>) {
  const session = useSessionToken();
  const wanted = idSet(ids).slice(0, 500);
  const path = wanted.length ? `/v1/stores${query({ ids: wanted.join(',') })}` : undefined;
  const result = useQuery({
    queryKey: ['stores', 'by-id', path],
    queryFn: ({ signal }) => read<Page<StoreView>>(path!, session.token, signal),
    enabled: !!path,
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
  return new Map((result.data?.items ?? []).map((store) => [store.id, store]));
}

/** Every terminal of these stores (`GET /v1/terminals?storeIds=`, at most 100 stores): a board page's terminals. */
export function useTerminalsOfStores(storeIds: Array<string | undefined>) {
  const session = useSessionToken();
  const wanted = idSet(storeIds).slice(0, 100);
  const path = wanted.length ? `/v1/terminals${query({ storeIds: wanted.join(',') })}` : undefined;
  return useQuery({
    queryKey: ['terminals', 'of-stores', path],
    queryFn: ({ signal }) => read<{ items: TerminalView[] }>(path!, session.token, signal),
    enabled: !!path,
    placeholderData: keepPreviousData,
  });
}

/**
 * Names for ids, looking up only the given stores (the rows on screen) and the regions.
 * The console uses this one; useNames reads the first 500 stores of the directory.
 */
export function useNamesFor(storeIds: Array<string | undefined>) {
  const stores = useStoresById(storeIds);
  const regions = useRegions().data?.items ?? [];
  const region = new Map(regions.map((r) => [r.id, r]));
  return {
    store: (id: string) => stores.get(id)?.name ?? id.slice(0, 8),
    storeView: (id: string) => stores.get(id),
    region: (id: string) => region.get(id)?.name ?? id.slice(0, 8),
  };
}

/** Names for ids, for every table that shows a store or a region. */
export function useNames() {
  const stores = useStores().data?.items ?? [];
  const regions = useRegions().data?.items ?? [];
  const store = new Map(stores.map((s) => [s.id, s]));
  const region = new Map(regions.map((r) => [r.id, r]));
  return {
    store: (id: string) => store.get(id)?.name ?? id.slice(0, 8),
    region: (id: string) => region.get(id)?.name ?? id.slice(0, 8),
  };
}

/**
 * Runs a command, then waits until the read side shows the communication at (at least)
 * the version the command produced, so the screen never shows the state from before.
 */
export async function runCommand(
  client: QueryClient,
  session: Session,
  method: 'POST' | 'PATCH' | 'DELETE',
  path: string,
  options: RequestOptions = {},
  communicationId?: string,
): Promise<CommandResult> {
  const result = await write<CommandResult>(method, path, { ...options, token: session.token });
  const id = communicationId ?? result.id;
  if (id && path.startsWith('/v1/communications') && typeof result.version === 'number') {
    const current = await read<CommunicationView>(
      `/v1/communications/${id}?minVersion=${result.version}`,
      session.token,
    ).catch(() => undefined);
    if (current) client.setQueryData(['communication', id], current);
    await client.invalidateQueries({ queryKey: ['communications'] });
  }
  return result;
}

export function useCommand() {
  const client = useQueryClient();
  const session = useSessionToken();
  return (method: 'POST' | 'PATCH' | 'DELETE', path: string, options?: RequestOptions, communicationId?: string) =>
    runCommand(client, session, method, path, options, communicationId);
}
