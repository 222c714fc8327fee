import { topicNames } from '@lastmeter/contracts';
import { createKafkaClient, topicOffsets } from '@lastmeter/kafka';

/** Demo people: username, password, role, store code. Printed at start. */
export const DEMO_USERS = [
  { username: 'editor', password: 'editor-demo-pass', role: 'hq-editor' },
  { username: 'agency', password: 'agency-demo-pass', role: 'agency' },
  { username: 'analyst', password: 'analyst-demo-pass', role: 'analyst' },
  { username: 'manager.paris', password: 'manager-demo-pass', role: 'store-manager', store: 'paris-rivoli' },
] as const;

const REGIONS = [
  { code: 'north', name: 'North' },
  { code: 'south', name: 'South' },
];

const STORES = [
  {
    code: 'paris-rivoli',
    name: 'Paris Rivoli',
    region: 'north',
    tags: ['flagship', 'city'],
    locale: 'fr-FR',
    timezone: 'Europe/Paris',
  },
  {
    code: 'lille-centre',
    name: 'Lille Centre',
    region: 'north',
    tags: ['city'],
    locale: 'fr-FR',
    timezone: 'Europe/Paris',
  },
  {
    code: 'lyon-part-dieu',
    name: 'Lyon Part-Dieu',
    region: 'south',
    tags: ['mall'],
    locale: 'fr-FR',
    timezone: 'Europe/Paris',
  },
  {
    code: 'marseille-vieux-port',
    name: 'Marseille Vieux-Port',
    region: 'south',
    tags: ['city'],
    locale: 'fr-FR',
    timezone: 'Europe/Paris',
  },
];

export interface SeedResult {
  users: typeof DEMO_USERS;
  terminal: { store: string; enrollmentCode: string };
  /** A break-room screen of the same store (`/store/screen/`). */
  screen: { store: string; enrollmentCode: string };
  /** The communications it wrote: what the read side shows once it has caught up. */
  communicationIds: string[];
}

/** What decides whether `lastmeter start` may seed the demo (besides an empty log). */
export interface SeedContext {
  /** NODE_ENV as `lastmeter start` was given it. */
  nodeEnv?: string;
  /** KAFKA_BROKERS / REDIS_URL as `lastmeter start` was given them (unset: it provides them). */
  kafkaBrokers?: string;
  redisUrl?: string;
  /** Addresses of the Kafka and Redis this project runs (`infra up` / `start`, live pids only). */
  local: { kafkaBrokers?: string; redisUrl?: string };
}

const brokerSet = (brokers: string) =>
  brokers
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean)
    .sort()
    .join(',');

function redisAddress(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/**
 * Why the demo must not be seeded, or undefined when it may be. The demo creates users
 * with passwords fixed in this file, so it never runs in production, nor against a
 * Kafka or Redis this project did not start (a shared or real cluster): there an empty
 * log is somebody's new deployment, not a developer's first `npm start`.
 */
export function seedRefusal(context: SeedContext): string | undefined {
  if (context.nodeEnv === 'production') {
    return 'NODE_ENV=production (the demo creates users with published passwords)';
  }
  const { local } = context;
  if (
    context.kafkaBrokers &&
    (!local.kafkaBrokers || brokerSet(context.kafkaBrokers) !== brokerSet(local.kafkaBrokers))
  ) {
    return `KAFKA_BROKERS=${context.kafkaBrokers} is a broker this project did not start`;
  }
  if (context.redisUrl && (!local.redisUrl || redisAddress(context.redisUrl) !== redisAddress(local.redisUrl))) {
    // The host only: a URL may carry a password.
    return `REDIS_URL (${redisAddress(context.redisUrl)}) is a Redis this project did not start`;
  }
  return undefined;
}

/** True when the events topic holds nothing yet: only then is the demo seeded. */
export async function logIsEmpty(brokers: string, prefix = ''): Promise<boolean> {
  const admin = createKafkaClient({ brokers: brokers.split(','), clientId: 'lastmeter-seed' }).admin();
  await admin.connect();
  try {
    const offsets = await topicOffsets(admin, topicNames(prefix).events);
    return offsets.every(({ high }) => high === '0');
  } finally {
    await admin.disconnect();
  }
}

/**
 * Seeds a demo through the public command API, as an operator would: regions, stores,
 * users of every role, a cashier terminal, a break-room screen, and communications in several states.
 */
export async function seedDemo(commandUrl: string, admin: { username: string; password: string }): Promise<SeedResult> {
  const call = async (path: string, body: unknown, token?: string, key?: string) => {
    const send = () =>
      fetch(`${commandUrl}/v1${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(key ? { 'idempotency-key': key } : {}),
        },
        body: JSON.stringify(body),
      });
    let response = await send();
    // 503 records nothing (a dependency not ready yet, or load shed): wait as told, and again.
    for (let attempt = 1; response.status === 503 && attempt < 10; attempt++) {
      const wait = Math.min(5, Number(response.headers.get('retry-after')) || 1);
      await new Promise((resolve) => setTimeout(resolve, wait * 1_000));
      response = await send();
    }
    const json = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`seed: POST ${path} → ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  const login = async (username: string, password: string) =>
    (await call('/auth/login', { username, password })).token as string;

  const adminToken = await login(admin.username, admin.password);
  const regionIds: Record<string, string> = {};
  for (const region of REGIONS) regionIds[region.code] = (await call('/regions', region, adminToken)).id as string;
  const storeIds: Record<string, string> = {};
  for (const { region, ...store } of STORES) {
    storeIds[store.code] = (await call('/stores', { ...store, regionId: regionIds[region] }, adminToken)).id as string;
  }
  for (const user of DEMO_USERS) {
    const { store, ...rest } = user as (typeof DEMO_USERS)[number] & { store?: string };
    await call('/users', { ...rest, ...(store ? { storeId: storeIds[store] } : {}) }, adminToken);
  }
  const terminal = await call(
    '/terminals',
    { storeId: storeIds['paris-rivoli'], name: 'Till 1', roles: ['cashier'] },
    adminToken,
  );
  const screen = await call(
    '/terminals',
    { storeId: storeIds['paris-rivoli'], name: 'Break room', kind: 'screen' },
    adminToken,
  );

  const editor = await login('editor', 'editor-demo-pass');
  const agency = await login('agency', 'agency-demo-pass');
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

  const urgent = await call(
    '/communications',
    {
      kind: 'notice',
      priority: 'urgent',
      title: 'Product recall: batch 4471',
      body: 'Remove every jar of batch 4471 from the shelves now and keep them in the back office.',
      audience: { all: true },
    },
    editor,
  );
  await call(`/communications/${urgent.id}/publish`, {}, editor);

  const task = await call(
    '/communications',
    {
      kind: 'task',
      title: 'Set up the winter window display',
      body: 'Follow the attached planogram and send a photo when done.',
      audience: { regionIds: [regionIds.north] },
      dueAt: inDays(5),
      evidence: 'photo',
    },
    editor,
  );
  await call(`/communications/${task.id}/publish`, { expiresAt: inDays(14) }, editor);

  const training = await call(
    '/communications',
    {
      kind: 'training',
      title: 'New loyalty card in 3 questions',
      body: 'The new card replaces the old one from 1 December.',
      audience: { all: true, roles: ['cashier', 'sales'] },
      questions: [
        { prompt: 'From when is the new card valid?', options: ['1 November', '1 December', '1 January'], answer: 1 },
      ],
    },
    agency,
  );
  await call(`/communications/${training.id}/submit`, {}, agency);

  const campaign = await call(
    '/communications',
    {
      kind: 'campaign',
      title: 'Black Friday week',
      body: 'Campaign material arrives on Monday.',
      audience: { tags: ['flagship', 'mall'] },
    },
    agency,
  );

  return {
    users: DEMO_USERS,
    terminal: { store: 'paris-rivoli', enrollmentCode: terminal.enrollmentCode as string },
    screen: { store: 'paris-rivoli', enrollmentCode: screen.enrollmentCode as string },
    communicationIds: [urgent, task, training, campaign].map((c) => c.id as string),
  };
}

/**
 * Resolves once the gateway's read side lists every communication of the seed (the
 * projector has caught up with it): only then is the demo there for whoever opens the
 * console. Rejects after `timeoutMs`.
 */
export async function waitUntilSeedVisible(
  urls: { commandUrl: string; gatewayUrl: string },
  admin: { username: string; password: string },
  seed: SeedResult,
  timeoutMs = 60_000,
): Promise<void> {
  const login = await fetch(`${urls.commandUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admin),
  });
  if (!login.ok) throw new Error(`seed check: login → ${login.status}`);
  const { token } = (await login.json()) as { token: string };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${urls.gatewayUrl}/v1/communications?limit=50`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (response.ok) {
      const { items } = (await response.json()) as { items: { id: string }[] };
      const listed = new Set(items.map((item) => item.id));
      if (seed.communicationIds.every((id) => listed.has(id))) return;
    }
    if (Date.now() > deadline) {
      throw new Error(`the read side does not show the seed after ${Math.round(timeoutMs / 1000)} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
