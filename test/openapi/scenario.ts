/**
 * An integrator's scenario, written only against the clients that openapi-typescript
 * generates from the apps' live /docs-json (test/openapi/openapi.e2e-spec.ts writes
 * `command-api.d.ts` and `gateway-api.d.ts` beside a copy of this file and type-checks it
 * with tsc before running it). Nothing here is typed by hand: a response field that the
 * documents do not describe is a compile error.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths as CommandPaths } from './command-api';
import type { paths as GatewayPaths } from './gateway-api';

export interface ScenarioOptions {
  commandUrl: string;
  gatewayUrl: string;
  username: string;
  password: string;
  /** A unique suffix for codes (regions and stores are unique by code). */
  suffix: string;
  /** Sees every request and response (the test validates them against the documents). */
  middleware: Middleware;
}

export interface ScenarioResult {
  role: string;
  regionId: string;
  storeId: string;
  terminalId: string;
  enrollmentCode: string;
  communicationId: string;
  feedSeqs: number[];
  feedTitles: string[];
  reachTargeted: number;
  /** Status codes of the refusals the scenario provoked, by what it tried. */
  refusals: Record<string, number>;
}

async function eventually<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function fail(what: string, error: unknown, response: Response): never {
  throw new Error(`${what}: ${response.status} ${JSON.stringify(error)}`);
}

export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const command = createClient<CommandPaths>({ baseUrl: options.commandUrl });
  const gateway = createClient<GatewayPaths>({ baseUrl: options.gatewayUrl });
  command.use(options.middleware);
  gateway.use(options.middleware);
  const refusals: Record<string, number> = {};

  // Log in; everything after carries the bearer token.
  const login = await command.POST('/v1/auth/login', {
    body: { username: options.username, password: options.password },
  });
  if (!login.data) fail('login', login.error, login.response);
  const { token, role } = login.data;
  const auth = { headers: { authorization: `Bearer ${token}` } };

  const region = await command.POST('/v1/regions', {
    ...auth,
    body: { code: `north-${options.suffix}`, name: 'North' },
  });
  if (!region.data) fail('region', region.error, region.response);
  const regionId = region.data.id;

  const store = await command.POST('/v1/stores', {
    ...auth,
    body: { code: `lille-${options.suffix}`, name: 'Lille', regionId, timezone: 'Europe/Paris', locale: 'fr-FR' },
  });
  if (!store.data) fail('store', store.error, store.response);
  const storeId = store.data.id;

  const terminal = await command.POST('/v1/terminals', { ...auth, body: { storeId, name: 'Till 1' } });
  if (!terminal.data) fail('terminal', terminal.error, terminal.response);
  if (!('enrollmentCode' in terminal.data)) throw new Error('terminal registration is pending');
  const { terminalId, enrollmentCode } = terminal.data;

  const draft = await command.POST('/v1/communications', {
    ...auth,
    body: {
      kind: 'notice',
      title: 'Winter opening hours',
      body: 'From Monday the store opens at 9:00.',
      audience: { storeIds: [storeId] },
    },
  });
  if (!draft.data) fail('draft', draft.error, draft.response);
  const communicationId = draft.data.id;

  const published = await command.POST('/v1/communications/{id}/publish', {
    ...auth,
    params: { path: { id: communicationId } },
    body: {},
  });
  if (!published.data) fail('publish', published.error, published.response);

  // The store's feed carries it once the read side has caught up.
  const feed = await eventually(async () => {
    const page = await gateway.GET('/v1/stores/{id}/feed', { ...auth, params: { path: { id: storeId } } });
    if (!page.data) fail('feed', page.error, page.response);
    if (!('headSeq' in page.data)) throw new Error('a feed page without asOf has headSeq');
    const items = page.data.items;
    return items.some((item) => 'communication' in item && item.communication.id === communicationId)
      ? items
      : undefined;
  }, 'the feed to carry the publish');

  const reach = await eventually(async () => {
    const answer = await gateway.GET('/v1/communications/{id}/reach', {
      ...auth,
      params: { path: { id: communicationId } },
    });
    if (!answer.data) fail('reach', answer.error, answer.response);
    return 'targeted' in answer.data && answer.data.targeted > 0 ? answer.data : undefined;
  }, 'the reach to count the store');

  // Refusals, each with its documented body.
  const invalid = await command.POST('/v1/regions', { ...auth, body: { code: '', name: '' } });
  if (!invalid.error) throw new Error('an empty region code was accepted');
  refusals['invalid region'] = invalid.response.status;

  const anonymous = await gateway.GET('/v1/regions', {});
  refusals['no token'] = anonymous.response.status;

  const missing = await gateway.GET('/v1/communications/{id}', {
    ...auth,
    params: { path: { id: '00000000-0000-4000-8000-000000000000' } },
  });
  refusals['unknown communication'] = missing.response.status;

  const stale = await command.PATCH('/v1/communications/{id}', {
    headers: { ...auth.headers, 'if-match': '1' },
    params: { path: { id: communicationId } },
    body: { title: 'Winter opening hours (revised)' },
  });
  refusals['stale If-Match'] = stale.response.status;

  return {
    role,
    regionId,
    storeId,
    terminalId,
    enrollmentCode,
    communicationId,
    feedSeqs: feed.map((item) => item.feedSeq),
    feedTitles: feed.flatMap((item) => ('communication' in item ? [item.communication.title] : [])),
    reachTargeted: reach.targeted,
    refusals,
  };
}
